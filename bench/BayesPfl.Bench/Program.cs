// Placeholder entry point; suites arrive with the ops.
return 0;
