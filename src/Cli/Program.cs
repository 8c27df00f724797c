using System.CommandLine;
using BayesPfl.Cli;

var root = new RootCommand("bayespfl: Bayes-PFL zero-shot anomaly detection on CUDA and CPU");
root.Subcommands.Add(DeviceCommand.Create());
root.Subcommands.Add(ConvertCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(InferCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
return root.Parse(args).Invoke();
