using System.Runtime.ExceptionServices;

namespace BayesPfl.Engine.Metrics;

/// <summary>Parallel.For that rethrows a worker's own exception (e.g. the ArgumentException naming the
/// map with a NaN) instead of an AggregateException around it.</summary>
internal static class Parallelism
{
    public static void For(int from, int to, int threads, Action<int> body)
    {
        try
        {
            Parallel.For(from, to, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
    }
}
