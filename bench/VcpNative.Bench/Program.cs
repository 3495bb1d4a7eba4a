// Benchmark entry point.
return 0;
