using BayesPfl.Bench;
using BenchmarkDotNet.Running;

// `metrics-quick [options]` times one pass of each pixel metric over a synthetic category (seconds, not the
// BenchmarkDotNet hour); anything else goes to BenchmarkDotNet's switcher, which lists every suite in this
// assembly (add a suite as another public class with [Benchmark] methods).
if (args.Length > 0 && args[0] == "metrics-quick") return MetricsQuick.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(MetricsQuick).Assembly).Run(args);
return 0;
