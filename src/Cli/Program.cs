// Placeholder entry point; the real verbs arrive with the host layer.
return 0;
