using System.Diagnostics;
using System.Runtime.InteropServices;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Snapshot;

/// <summary>
/// Snapshots a database on this machine with Microsoft.Data.Sqlite, into the service's home
/// (<c>&lt;home&gt;/.atelier/snapshots/</c>): the home of the service's user when it exists here, else the current
/// user's. When run as root, the snapshot belongs to the service's user, as if it had taken it.
/// </summary>
public sealed partial class LocalSnapshotter : ISnapshotter
{
    /// <summary>How long <c>git rev-parse</c> of the service's <c>~/app</c> may take; the snapshot's commit is then <c>nocommit</c>.</summary>
    internal static readonly TimeSpan DefaultGitTimeout = TimeSpan.FromSeconds(10);

    private readonly string _passwdFile;
    private readonly string _git;
    private readonly TimeSpan _gitTimeout;

    public LocalSnapshotter(string passwdFile = "/etc/passwd")
        : this(passwdFile, "git", DefaultGitTimeout)
    {
    }

    /// <param name="git">The git program (a path, or a name on PATH).</param>
    /// <param name="gitTimeout">How long reading the deployed commit may take.</param>
    internal LocalSnapshotter(string passwdFile, string git, TimeSpan gitTimeout)
    {
        _passwdFile = passwdFile;
        _git = git;
        _gitTimeout = gitTimeout;
    }

    public async Task<ServiceDbSnapshot> TakeAsync(SnapshotRequest request, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var account = Account(request.Service);
        var database = ResolveDatabase(request.DbPath, account.Home);
        var folder = Path.Combine(account.Home, ".atelier", "snapshots");
        CreatePrivateFolder(Path.Combine(account.Home, ".atelier"), account);
        CreatePrivateFolder(folder, account);

        var commit = await DeployedCommitAsync(Path.Combine(account.Home, "app"), cancellationToken).ConfigureAwait(false);
        // To the millisecond, as the file name keeps it (and ListAsync reads it back).
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var name = ServiceDbSnapshot.FileName(ServiceDbSnapshot.DatabaseName(database), createdAt, commit);
        while (File.Exists(Path.Combine(folder, name)))
        {
            // Two snapshots in the same millisecond: the later one takes the next, so names stay unique and in order.
            createdAt = createdAt.AddMilliseconds(1);
            name = ServiceDbSnapshot.FileName(ServiceDbSnapshot.DatabaseName(database), createdAt, commit);
        }

        var final = Path.Combine(folder, name);
        var partial = PrivateFile.TemporaryBeside(final);
        try
        {
            // VACUUM INTO takes an empty file: created here, 0600 from the start, never over another file.
            PrivateFile.CreateNew(partial).Dispose();
            SqliteFile.VacuumInto(database, partial);
            SqliteFile.Verify(partial);
            GiveTo(partial, account);
            File.Move(partial, final);
        }
        finally
        {
            File.Delete(partial);
        }

        var snapshot = new ServiceDbSnapshot
        {
            Service = request.Service,
            ComputerName = "localhost",
            Database = ServiceDbSnapshot.DatabaseName(database),
            Path = final,
            CreatedAt = createdAt,
            Commit = commit,
            SizeBytes = new FileInfo(final).Length,
            Tool = "Microsoft.Data.Sqlite",
            SourcePath = database,
            Duration = stopwatch.Elapsed,
        };
        foreach (var old in List(request.Service, folder, snapshot.Database).Skip(request.Keep))
        {
            File.Delete(old.Path);
        }

        return snapshot;
    }

    public Task<string> PlanAsync(SnapshotRequest request, CancellationToken cancellationToken)
    {
        var account = Account(request.Service);
        var database = ResolveDatabase(request.DbPath, account.Home);
        return Task.FromResult($"{database} -> {Path.Combine(account.Home, ".atelier", "snapshots")} with Microsoft.Data.Sqlite, keeping {request.Keep}");
    }

    public Task<IReadOnlyList<ServiceDbSnapshot>> ListAsync(string service, string? database, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ServiceDbSnapshot>>(List(service, Path.Combine(Account(service).Home, ".atelier", "snapshots"), database));

    public Task<string> DownloadAsync(ServiceDbSnapshot snapshot, string destination, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return SnapshotDestination.WriteAsync(destination, Path.GetFileName(snapshot.Path), force, (partial, cancellation) => CopyAsync(snapshot.Path, partial, cancellation), cancellationToken);
    }

    /// <summary>Copies a file into a new one, created with mode 0600.</summary>
    private static async Task CopyAsync(string source, string target, CancellationToken cancellationToken)
    {
        await using var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using var to = PrivateFile.CreateNew(target, useAsync: true);
        await from.CopyToAsync(to, cancellationToken).ConfigureAwait(false);
    }

    private static List<ServiceDbSnapshot> List(string service, string folder, string? database)
    {
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var snapshots = new List<ServiceDbSnapshot>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.db"))
        {
            if (ServiceDbSnapshot.TryParseFileName(Path.GetFileName(file), out var db, out var createdAt, out var commit) && (database is null || db == database))
            {
                snapshots.Add(new ServiceDbSnapshot
                {
                    Service = service,
                    ComputerName = "localhost",
                    Database = db,
                    Path = file,
                    CreatedAt = createdAt,
                    Commit = commit,
                    SizeBytes = new FileInfo(file).Length,
                });
            }
        }

        return snapshots.OrderByDescending(s => s.CreatedAt).ToList();
    }

    private static string ResolveDatabase(string dbPath, string home)
    {
        var path = RemoteValue.Path(dbPath, "database path");
        path = path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path[2..]) : Path.IsPathRooted(path) ? path : Path.Combine(home, path);
        if (!File.Exists(path))
        {
            throw new AtelierException("DatabaseNotFound", FailureKind.NotFound, $"No database file at {path}.");
        }

        return path;
    }

    /// <summary>The short commit id of <paramref name="appFolder"/>'s HEAD, or <c>nocommit</c> (no checkout, no git, a failure, or no answer in time: git and what it started are then killed).</summary>
    private async Task<string> DeployedCommitAsync(string appFolder, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(appFolder))
        {
            return "nocommit";
        }

        try
        {
            var git = await LocalProcess.RunAsync(
                new LocalProcessStart { Program = _git, Arguments = ["-c", "safe.directory=*", "-C", appFolder, "rev-parse", "--short=12", "HEAD"], Timeout = _gitTimeout },
                cancellationToken).ConfigureAwait(false);
            var output = git.Output.Trim();
            return !git.TimedOut && git.ExitCode == 0 && output.Length > 0 ? output : "nocommit";
        }
        catch (ProgramStartException)
        {
            return "nocommit";
        }
    }

    private (string Home, int Uid, int Gid) Account(string service)
    {
        RemoteValue.ServiceName(service);
        if (File.Exists(_passwdFile))
        {
            foreach (var line in File.ReadLines(_passwdFile))
            {
                var fields = line.Split(':');
                if (fields.Length >= 6 && fields[0] == service && int.TryParse(fields[2], out var uid) && int.TryParse(fields[3], out var gid))
                {
                    return (fields[5], uid, gid);
                }
            }
        }

        return (Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), -1, -1);
    }

    private static void CreatePrivateFolder(string folder, (string Home, int Uid, int Gid) account)
    {
        PrivateFile.CreateFolder(folder);
        SetMode(folder, PrivateFile.FolderMode); // an existing folder too
        GiveTo(folder, account);
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    private static void GiveTo(string path, (string Home, int Uid, int Gid) account)
    {
        if (account.Uid >= 0 && Environment.IsPrivilegedProcess && Chown(path, account.Uid, account.Gid) != 0)
        {
            throw new AtelierException("SnapshotOwnership", FailureKind.OperationFailed, $"Could not give {path} to uid {account.Uid} (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, int owner, int group);
}
