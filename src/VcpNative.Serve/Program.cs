// Entry point of vcp-native-serve: the `serve` verb alone, with the CLI's global options and error policy.
using VcpNative.Cli;

return CommandShell.Run(CommandShell.Root("vcp-native serve: " + ServeVerb.Description, VcpNative.Serve.ServeCommand.Create()), args, Console.Out, Console.Error);
