using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Atelier.Manifest;

/// <summary>Where a services manifest is read from.</summary>
public enum ManifestSourceKind
{
    /// <summary>A JSON file (services.json).</summary>
    File,

    /// <summary>An http or https URL that serves the JSON.</summary>
    Url,

    /// <summary>A flake: <c>nix eval --json &lt;flake&gt;#services-manifest</c>.</summary>
    Flake,
}

/// <summary>How long loading may take, and where <c>nix</c> is looked for.</summary>
public sealed record ManifestOptions
{
    public static readonly TimeSpan DefaultHttpTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultNixTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Longest a download may take, answer and body together.</summary>
    public TimeSpan HttpTimeout { get; init; } = DefaultHttpTimeout;

    /// <summary>Longest <c>nix eval</c> may run before it is stopped.</summary>
    public TimeSpan NixTimeout { get; init; } = DefaultNixTimeout;

    /// <summary>The folders <c>nix</c> is looked for in (PATH's format). Default: this process's PATH.</summary>
    public string? SearchPath { get; init; }
}

/// <summary>
/// A manifest location, interpreted: an http(s) URL; a flake reference (<c>github:owner/dots</c>, optionally with
/// <c>#attribute</c>); a JSON file; or a folder, which means its services.json when it has one, else its flake.
/// </summary>
public sealed partial class ManifestSource
{
    /// <summary>The flake output that holds the manifest.</summary>
    public const string DefaultAttribute = "services-manifest";

    /// <summary>The file a folder's manifest is read from, before its flake.</summary>
    public const string FileName = "services.json";

    /// <summary>The most a manifest may weigh, read from a file or a URL.</summary>
    public const int MaxBytes = 16 * 1024 * 1024;

    private static readonly HttpClient Client = CreateClient();

    private ManifestSource(ManifestSourceKind kind, string location, string? attribute = null, bool isDirectory = false)
    {
        Kind = kind;
        Location = location;
        Attribute = attribute;
        IsDirectory = isDirectory;
    }

    public ManifestSourceKind Kind { get; }

    /// <summary>The full path of the file, the URL, or the flake (a folder's full path or a flake reference).</summary>
    public string Location { get; }

    /// <summary>The flake output evaluated (flakes only).</summary>
    public string? Attribute { get; }

    /// <summary>True when the flake is a folder here (evaluated as <c>.#attribute</c> inside it).</summary>
    public bool IsDirectory { get; }

    /// <summary>The manifest file at a full path.</summary>
    public static ManifestSource FromFile(string path) => new(ManifestSourceKind.File, Path.GetFullPath(path));

    /// <summary>A manifest served over http or https.</summary>
    public static ManifestSource FromUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"'{url}' is not an absolute http or https URL.", nameof(url));
        }

        return new(ManifestSourceKind.Url, url.AbsoluteUri);
    }

    /// <summary>A flake's manifest output: a folder here, or a flake reference nix understands.</summary>
    public static ManifestSource FromFlake(string flake, string attribute = DefaultAttribute)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(flake);
        ArgumentException.ThrowIfNullOrWhiteSpace(attribute);
        return FlakeReference().IsMatch(flake)
            ? new(ManifestSourceKind.Flake, flake, attribute)
            : new(ManifestSourceKind.Flake, Path.GetFullPath(flake), attribute, isDirectory: true);
    }

    /// <summary>
    /// Interprets a location the way a user types it. Relative paths go through <paramref name="fullPath"/> (a
    /// cmdlet resolves them against PowerShell's current location; default: this process's current folder).
    /// </summary>
    /// <exception cref="AtelierException"><c>ManifestNotFound</c>: a path that does not exist, or a folder with neither a services.json nor a flake.nix.</exception>
    public static ManifestSource Resolve(string location, Func<string, string>? fullPath = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        location = location.Trim();
        fullPath ??= Path.GetFullPath;
        if (Uri.TryCreate(location, UriKind.Absolute, out var uri))
        {
            if (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            {
                return FromUrl(uri);
            }

            if (uri.IsFile && location.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            {
                location = uri.LocalPath;
            }
        }

        var hash = location.LastIndexOf('#');
        var reference = hash < 0 ? location : location[..hash];
        var attribute = hash < 0 ? null : location[(hash + 1)..];
        if (FlakeReference().IsMatch(reference))
        {
            return FromFlake(reference, string.IsNullOrWhiteSpace(attribute) ? DefaultAttribute : attribute);
        }

        if (attribute is not null && Directory.Exists(fullPath(reference.Length == 0 ? "." : reference)))
        {
            return FromFlake(fullPath(reference.Length == 0 ? "." : reference), string.IsNullOrWhiteSpace(attribute) ? DefaultAttribute : attribute);
        }

        var path = fullPath(location);
        if (File.Exists(path))
        {
            return FromFile(path);
        }

        if (Directory.Exists(path))
        {
            var json = Path.Combine(path, FileName);
            if (File.Exists(json))
            {
                return FromFile(json);
            }

            if (File.Exists(Path.Combine(path, "flake.nix")))
            {
                return FromFlake(path);
            }

            throw new AtelierException("ManifestNotFound", FailureKind.NotFound,
                $"The folder {path} has neither a {FileName} nor a flake.nix, so it holds no services manifest.");
        }

        throw new AtelierException("ManifestNotFound", FailureKind.NotFound,
            $"The services manifest {path} does not exist. Give a {FileName} file, a flake folder, a flake reference (github:owner/repo) or an http(s) URL.");
    }

    /// <summary>Reads, downloads or evaluates the manifest and parses it.</summary>
    /// <exception cref="AtelierException">
    /// <c>ManifestNotFound</c>, <c>ManifestInvalid</c>, <c>ManifestDownloadFailed</c>, <c>ManifestTimedOut</c>,
    /// <c>NixNotInstalled</c> or <c>ManifestEvalFailed</c>.
    /// </exception>
    public async Task<ServicesManifest> LoadAsync(ManifestOptions? options, CancellationToken cancellationToken)
    {
        options ??= new ManifestOptions();
        var json = Kind switch
        {
            ManifestSourceKind.File => await ReadFileAsync(cancellationToken).ConfigureAwait(false),
            ManifestSourceKind.Url => await DownloadAsync(options.HttpTimeout, cancellationToken).ConfigureAwait(false),
            _ => await NixEval.EvalJsonAsync(this, options, cancellationToken).ConfigureAwait(false),
        };
        return ServicesManifest.Parse(json, ToString());
    }

    /// <summary>The command line a flake is evaluated with, for messages.</summary>
    public string Installable => Kind != ManifestSourceKind.Flake ? Location : IsDirectory ? $".#{Attribute}" : $"{Location}#{Attribute}";

    public override string ToString() => Kind switch
    {
        ManifestSourceKind.File => Location,
        ManifestSourceKind.Url => Location,
        _ => IsDirectory ? $"{Location}#{Attribute} (nix eval)" : $"{Installable} (nix eval)",
    };

    private async Task<string> ReadFileAsync(CancellationToken cancellationToken)
    {
        try
        {
            var info = new FileInfo(Location);
            if (info.Exists && info.Length > MaxBytes)
            {
                throw new AtelierException(ServicesManifest.InvalidErrorId, FailureKind.InvalidData,
                    $"The services manifest {Location} is {info.Length} bytes, more than the {MaxBytes} a manifest may be.");
            }

            return await File.ReadAllTextAsync(Location, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new AtelierException("ManifestNotFound", FailureKind.NotFound, $"The services manifest {Location} does not exist.", ex);
        }
    }

    private async Task<string> DownloadAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await Client.GetAsync(new Uri(Location), HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new AtelierException("ManifestDownloadFailed", FailureKind.Connection,
                    $"Could not download the services manifest from {Location}: it answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            }

            if (response.Content.Headers.ContentLength > MaxBytes)
            {
                throw TooLarge();
            }

            await using var body = await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await body.ReadAsync(chunk, deadline.Token).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxBytes)
                {
                    throw TooLarge();
                }

                buffer.Write(chunk, 0, read);
            }

            return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AtelierException("ManifestTimedOut", FailureKind.Timeout,
                $"Could not download the services manifest from {Location}: no complete answer within {Seconds(timeout)}.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new AtelierException("ManifestDownloadFailed", FailureKind.Connection,
                $"Could not download the services manifest from {Location}: {Describe(ex)}", ex);
        }
        catch (IOException ex)
        {
            throw new AtelierException("ManifestDownloadFailed", FailureKind.Connection,
                $"Could not download the services manifest from {Location}: the connection broke while reading it ({ex.Message}).", ex);
        }
    }

    private AtelierException TooLarge() =>
        new(ServicesManifest.InvalidErrorId, FailureKind.InvalidData, $"The services manifest from {Location} is larger than the {MaxBytes} bytes a manifest may be.");

    private static string Describe(HttpRequestException ex) => ex.InnerException switch
    {
        System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused } => "the connection was refused.",
        System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData } => "the host name was not found.",
        System.Security.Authentication.AuthenticationException tls => $"the TLS handshake failed ({tls.Message}).",
        _ => ex.HttpRequestError == HttpRequestError.Unknown ? ex.Message : $"{ex.HttpRequestError} ({ex.Message}).",
    };

    internal static string Seconds(TimeSpan span) =>
        span.TotalSeconds >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###} s") : string.Create(CultureInfo.InvariantCulture, $"{span.TotalMilliseconds:0} ms");

    private static HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            AutomaticDecompression = DecompressionMethods.All,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        var client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("Atelier/" + typeof(ManifestSource).Assembly.GetName().Version?.ToString(3));
        client.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        return client;
    }

    /// <summary>Flake references nix resolves itself (github:, git+https:, path:, flake: ...), as opposed to paths here.</summary>
    [GeneratedRegex(@"^(github|gitlab|sourcehut|flake|path|git|git\+[a-z]+|hg\+[a-z]+|tarball\+[a-z]+|file\+[a-z]+):", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex FlakeReference();
}
