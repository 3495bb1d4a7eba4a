// Entry point of the vcp-native command-line program.
return 0;
