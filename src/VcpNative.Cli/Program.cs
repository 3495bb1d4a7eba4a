// Entry point of the vcp-native command-line program.
return VcpNative.Cli.CliApp.Run(args);
