// Entry point of the vcp-native command-line program.
// First, before anything is printed: the AVX2 NativeAOT build hands over to vcp-native-avx512 on AVX-512 machines.
VcpNative.Cli.NativeBuild.DispatchAtStartup(args);
return VcpNative.Cli.CliApp.Run(args);
