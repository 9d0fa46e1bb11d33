using Microsoft.Data.Sqlite;

namespace Atelier.Tests.Snapshot;

/// <summary>Inserts one row per committed transaction, ids 1, 2, 3..., on a thread of its own.</summary>
internal sealed class ContinuousWriter : IDisposable
{
    private readonly Thread _thread;
    private readonly string _path;
    private volatile bool _stop;
    private long _lastId;
    private Exception? _error;

    public ContinuousWriter(string path, long firstId)
    {
        _path = path;
        _lastId = firstId - 1;
        _thread = new Thread(Run) { IsBackground = true, Name = "continuous writer" };
        _thread.Start();
    }

    public long Written => Interlocked.Read(ref _lastId);

    /// <summary>Waits until the writer has committed row <paramref name="id"/>.</summary>
    public void WaitForRows(long id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Interlocked.Read(ref _lastId) < id)
        {
            Assert.Null(_error);
            Assert.True(DateTime.UtcNow < deadline, $"the writer is stuck at row {Written}");
            Thread.Sleep(1);
        }
    }

    public void Stop()
    {
        _stop = true;
        _thread.Join();
        Assert.Null(_error);
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        try
        {
            using var connection = TestDatabase.Open(_path);
            TestDatabase.Execute(connection, "PRAGMA busy_timeout = 30000;");
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO t(id, v) VALUES ($id, randomblob(200))";
            var id = insert.Parameters.Add("$id", SqliteType.Integer);
            while (!_stop)
            {
                id.Value = _lastId + 1;
                insert.ExecuteNonQuery();
                Interlocked.Increment(ref _lastId);
            }
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            _error = ex;
        }
    }
}
