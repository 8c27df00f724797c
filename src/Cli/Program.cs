using System.CommandLine;
using BayesPfl.Cli;
using Spectre.Console;

// Redirected output (logs, CI, tests) has no terminal width; Spectre would assume 80 columns and fold the tables.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;

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
