using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.RegularExpressions;

namespace Atelier.Health;

/// <summary>
/// One GET of a health URL, classified like the anchor's status page. One <see cref="HttpClient"/> is shared by every
/// probe: no proxy, no automatic retries, redirects followed, a fresh connection per try (so a restarted service is
/// seen as it is now and the latency includes connecting). The per-request timeout is a linked token; only the status
/// line and headers are awaited unless a content pattern needs the body.
/// </summary>
public sealed class HttpProbe : IHealthProbe
{
    public const string MethodName = "http";

    /// <summary>The most of a body that is read to match <see cref="HealthOptions.ExpectContent"/>.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    private static readonly HttpClient Client = CreateClient();
    private readonly HealthCheck _check;
    private readonly Uri _url;
    private readonly HealthOptions _options;
    private readonly TimeProvider _time;

    public HttpProbe(HealthCheck check, HealthOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(check);
        _check = check;
        _url = check.HealthUrl ?? throw new ArgumentException("An HTTP check needs a URL.", nameof(check));
        if (!_url.IsAbsoluteUri || (_url.Scheme != Uri.UriSchemeHttp && _url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The health URL '{_url}' is not an absolute http or https URL.", nameof(check));
        }

        _options = options;
        _time = time ?? TimeProvider.System;
    }

    public async Task<ServiceHealth> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var started = _time.GetTimestamp();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _url);
            request.Headers.ConnectionClose = true;
            using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            var statusMatched = _options.IsExpectedStatus(code);
            bool? contentMatched = null;
            if (statusMatched && _options.ExpectContent is { } pattern)
            {
                var body = await ReadBodyAsync(response.Content, deadline.Token).ConfigureAwait(false);
                contentMatched = Matches(pattern, body);
            }

            var latency = _time.GetElapsedTime(started);
            var (status, healthy, detail) = Classify(code, response.ReasonPhrase, statusMatched, contentMatched, latency, _options);
            return Result(status, healthy, detail, code, latency.TotalMilliseconds);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Result(HealthStatus.Timeout, false, $"no answer within {Seconds(timeout)}", null, null);
        }
        catch (HttpRequestException ex)
        {
            return Result(HealthStatus.Down, false, Describe(ex, _url), null, null);
        }
        catch (IOException ex)
        {
            return Result(HealthStatus.Down, false, "the connection broke while reading the answer: " + ex.Message, null, null);
        }
    }

    /// <summary>
    /// The status page's classes for an answer: the expected status (and content) is up, or degraded but healthy when
    /// slower than the threshold; otherwise 5xx is degraded and everything else that answered (4xx, an unexpected
    /// 2xx or 3xx) is misconfigured. A 2xx whose body does not match the expected content is degraded: the service
    /// runs but does not say it is well.
    /// </summary>
    public static (HealthStatus Status, bool Healthy, string Detail) Classify(int statusCode, string? reason, bool statusMatched, bool? contentMatched, TimeSpan latency, HealthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var answer = string.IsNullOrEmpty(reason) ? statusCode.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{statusCode} {reason}");
        if (statusMatched && contentMatched != false)
        {
            return latency > options.DegradedThreshold
                ? (HealthStatus.Degraded, true, string.Create(CultureInfo.InvariantCulture, $"{answer}, slower than {options.DegradedThreshold.TotalMilliseconds:0} ms"))
                : (HealthStatus.Up, true, answer);
        }

        if (statusMatched)
        {
            var mismatch = statusCode is >= 300 and <= 499 ? HealthStatus.Misconfigured : HealthStatus.Degraded;
            return (mismatch, false, $"{answer}, but the content did not match '{options.ExpectContent}'");
        }

        var status = statusCode switch
        {
            >= 500 and <= 599 => HealthStatus.Degraded,
            _ => HealthStatus.Misconfigured,
        };
        return (status, false, $"{answer}, expected {options.ExpectedStatusText}");
    }

    private ServiceHealth Result(HealthStatus status, bool healthy, string detail, int? code, double? latencyMs) => new()
    {
        Service = _check.Service,
        ComputerName = _check.ComputerName,
        Method = MethodName,
        HealthUrl = _url.OriginalString,
        Status = status,
        Healthy = healthy,
        StatusCode = code,
        LatencyMs = latencyMs,
        Detail = detail,
        CheckedAt = _time.GetUtcNow(),
    };

    private static bool Matches(Regex pattern, string body)
    {
        try
        {
            return pattern.IsMatch(body);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static async Task<string> ReadBodyAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while (buffer.Length < MaxBodyBytes && (read = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, MaxBodyBytes - buffer.Length)), cancellationToken).ConfigureAwait(false)) > 0)
            {
                buffer.Write(chunk, 0, read);
            }

            return EncodingOf(content.Headers.ContentType).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
    }

    private static Encoding EncodingOf(MediaTypeHeaderValue? contentType)
    {
        if (contentType?.CharSet is { Length: > 0 } charset)
        {
            try
            {
                return Encoding.GetEncoding(charset.Trim('"'));
            }
            catch (ArgumentException)
            {
                // An unknown charset: read it as UTF-8.
            }
        }

        return Encoding.UTF8;
    }

    /// <summary>Why a request got no answer, in words: refused, name not resolved, TLS, or the error itself.</summary>
    public static string Describe(HttpRequestException exception, Uri url)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(url);
        var endpoint = url.IsDefaultPort ? url.Host : string.Create(CultureInfo.InvariantCulture, $"{url.Host}:{url.Port}");
        var socket = Innermost<SocketException>(exception);
        return exception.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => $"name not resolved: {url.Host}",
            HttpRequestError.SecureConnectionError => $"TLS failed with {endpoint}: {InnermostMessage(exception)}",
            HttpRequestError.ConnectionError when socket?.SocketErrorCode == SocketError.ConnectionRefused => $"connection refused by {endpoint}",
            HttpRequestError.ConnectionError when socket?.SocketErrorCode is SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"name not resolved: {url.Host}",
            HttpRequestError.ConnectionError => $"could not connect to {endpoint}: {InnermostMessage(exception)}",
            _ when Innermost<AuthenticationException>(exception) is not null => $"TLS failed with {endpoint}: {InnermostMessage(exception)}",
            _ => $"{endpoint}: {InnermostMessage(exception)}",
        };
    }

    private static T? Innermost<T>(Exception exception)
        where T : Exception
    {
        T? found = null;
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is T t)
            {
                found = t;
            }
        }

        return found;
    }

    private static string InnermostMessage(Exception exception)
    {
        var e = exception;
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    private static string Seconds(TimeSpan span) =>
        span.TotalSeconds >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###} s") : string.Create(CultureInfo.InvariantCulture, $"{span.TotalMilliseconds:0} ms");

    private static HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            AutomaticDecompression = DecompressionMethods.All,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.Zero,
        };
        var client = new HttpClient(handler, disposeHandler: true)
        {
            // Each request has its own timeout (a linked token); the client's own would only get in the way.
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("Atelier-Test-ServiceHealth/" + typeof(HttpProbe).Assembly.GetName().Version?.ToString(3));
        return client;
    }
}
