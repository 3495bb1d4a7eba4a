// The tensor layers every verification file works with.
global using VcpNative.Tensors;
global using VcpNative.Tensors.Autograd;
global using VcpNative.Tensors.Cpu;
global using VcpNative.Tensors.Cuda;
