using System.Collections.Concurrent;
using BayesPfl.Engine.Detection;

namespace BayesPfl.Native;

/// <summary>
/// The detectors behind bpfl_detector handles. A handle is an opaque number, never a pointer the library
/// dereferences: it is looked up here, so a closed, foreign or garbage handle is an error, not a crash. Numbers
/// are never reused (a stale handle cannot reach a newer detector); they step by 16 so that they look like
/// aligned pointers to tools that inspect them.
/// </summary>
internal static class Handles
{
    private static readonly ConcurrentDictionary<nint, Entry> Live = new();
    private static long next;

    /// <summary>One open detector and the lock that serialises calls on it (AnomalyDetector is not thread-safe).</summary>
    public sealed class Entry(AnomalyDetector detector)
    {
        private AnomalyDetector? detector = detector;

        public object Gate { get; } = new();

        /// <summary>The detector; call under <see cref="Gate"/>. Closed while a caller waited for the lock: an error.</summary>
        public AnomalyDetector Detector => detector ?? throw new ObjectDisposedException("bpfl_detector", "the detector was closed by another thread");

        public void Close()
        {
            lock (Gate)
            {
                detector?.Dispose();
                detector = null;
            }
        }
    }

    public static nint Add(AnomalyDetector detector)
    {
        var handle = (nint)(Interlocked.Increment(ref next) << 4);
        Live[handle] = new Entry(detector);
        return handle;
    }

    /// <summary>The entry of an open handle; the argument is named in the error otherwise.</summary>
    public static Entry Get(nint handle, string argument)
    {
        if (handle == 0) throw new ArgumentException($"{argument} is NULL");
        return Live.TryGetValue(handle, out var entry)
            ? entry
            : throw new ArgumentException($"{argument} (0x{handle:x}) is not an open detector: closed, or not returned by bpfl_detector_open");
    }

    /// <summary>Removes and disposes the handle's detector; unknown handles are ignored (close is NULL-safe and idempotent).</summary>
    public static void Close(nint handle)
    {
        if (Live.TryRemove(handle, out var entry)) entry.Close();
    }
}
