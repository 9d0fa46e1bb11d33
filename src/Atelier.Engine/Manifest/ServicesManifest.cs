using System.Globalization;
using System.Text.Json;

namespace Atelier.Manifest;

/// <summary>
/// The services manifest (<c>nix eval --json .#services-manifest</c>): every machine and the services it runs.
/// Parsing is strict about types and names the JSON path of anything wrong; keys it does not know are ignored, and
/// optional values may be missing or null.
/// </summary>
public sealed class ServicesManifest
{
    /// <summary>The error id of a manifest that is not valid JSON or not in the manifest's shape.</summary>
    public const string InvalidErrorId = "ManifestInvalid";

    private ServicesManifest(string source, IReadOnlyList<AtelierMachine> machines, IReadOnlyList<AtelierService> services)
    {
        Source = source;
        Machines = machines;
        Services = services;
    }

    /// <summary>Where the manifest came from (a file, a URL, or a flake), for messages.</summary>
    public string Source { get; }

    /// <summary>The machines, in the manifest's order.</summary>
    public IReadOnlyList<AtelierMachine> Machines { get; }

    /// <summary>Every service of every machine, machine by machine, in the manifest's order.</summary>
    public IReadOnlyList<AtelierService> Services { get; }

    /// <summary>Parses manifest JSON.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where it came from, for messages and <see cref="Source"/>.</param>
    /// <exception cref="AtelierException"><c>ManifestInvalid</c>: not JSON, or not in the manifest's shape.</exception>
    public static ServicesManifest Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException ex)
        {
            throw new AtelierException(InvalidErrorId, FailureKind.InvalidData, $"The services manifest from {source} is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            return new Reader(source).Read(document.RootElement);
        }
    }

    /// <summary>Walks the JSON, keeping the path of the value being read for error messages.</summary>
    private sealed class Reader(string source)
    {
        private string _where = string.Empty;

        public ServicesManifest Read(JsonElement root)
        {
            Expect(root, "$", JsonValueKind.Object, "an object keyed by machine name");
            var machines = new List<AtelierMachine>();
            var services = new List<AtelierService>();
            foreach (var property in root.EnumerateObject())
            {
                var machine = property.Name;
                var path = "$" + Key(machine);
                _where = $"machine '{machine}'";
                if (string.IsNullOrWhiteSpace(machine))
                {
                    throw Invalid(path, "a machine's name is empty");
                }

                var value = property.Value;
                Expect(value, path, JsonValueKind.Object, "an object (hostname, type, tailscale_host, services)");
                var hostname = OptionalString(value, path, "hostname");
                var type = OptionalString(value, path, "type");
                var tailscale = OptionalString(value, path, "tailscale_host");
                var host = tailscale ?? hostname ?? machine;
                var names = new List<string>();
                if (Optional(value, "services") is { } list)
                {
                    var listPath = path + ".services";
                    Expect(list, listPath, JsonValueKind.Array, "an array of services");
                    var index = 0;
                    foreach (var item in list.EnumerateArray())
                    {
                        var service = ReadService(item, $"{listPath}[{index}]", machine, host, index);
                        services.Add(service);
                        names.Add(service.Name);
                        index++;
                    }
                }

                machines.Add(new AtelierMachine { Name = machine, Hostname = hostname, Type = type, TailscaleHost = tailscale, Services = [.. names] });
            }

            return new ServicesManifest(source, machines, services);
        }

        private AtelierService ReadService(JsonElement item, string path, string machine, string host, int index)
        {
            _where = $"machine '{machine}', service #{index}";
            Expect(item, path, JsonValueKind.Object, "an object (name, domain, port, ...)");
            var name = OptionalString(item, path, "name") ?? throw Invalid(path + ".name", "is missing or empty: every service needs a name");
            _where = $"machine '{machine}', service #{index} ('{name}')";
            var healthUrl = OptionalString(item, path, "health_url");
            if (healthUrl is not null
                && (!Uri.TryCreate(healthUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(url.Host)))
            {
                throw Invalid(path + ".health_url", $"'{healthUrl}' is not an absolute http or https URL");
            }

            string? sqlite = null, postgres = null;
            string[] files = [];
            if (Optional(item, "data") is { } data)
            {
                var dataPath = path + ".data";
                Expect(data, dataPath, JsonValueKind.Object, "an object (sqlite, postgres, files)");
                sqlite = OptionalString(data, dataPath, "sqlite");
                postgres = OptionalString(data, dataPath, "postgres");
                files = OptionalStrings(data, dataPath, "files");
            }

            return new AtelierService
            {
                Name = name,
                Machine = machine,
                Host = host,
                Domain = OptionalString(item, path, "domain"),
                Port = OptionalPort(item, path, "port"),
                Runtime = OptionalString(item, path, "runtime") ?? AtelierService.DefaultRuntime,
                Description = OptionalString(item, path, "description"),
                Repository = OptionalString(item, path, "repository"),
                HealthUrl = healthUrl,
                DbPath = sqlite,
                Postgres = postgres,
                Files = files,
                Branch = OptionalString(item, path, "branch"),
                WorkDir = OptionalString(item, path, "work_dir"),
                BuildCommand = OptionalString(item, path, "build_command"),
                InstallCommand = OptionalString(item, path, "install_command"),
                PreRestartCommand = OptionalString(item, path, "pre_restart_command"),
                PostDeployCommand = OptionalString(item, path, "post_deploy_command"),
                HealthTimeout = OptionalSeconds(item, path, "health_timeout"),
            };
        }

        private int? OptionalSeconds(JsonElement parent, string parentPath, string key)
        {
            if (Optional(parent, key) is not { } value)
            {
                return null;
            }

            var path = parentPath + "." + key;
            Expect(value, path, JsonValueKind.Number, "a number of seconds");
            if (!value.TryGetInt32(out var seconds) || seconds is < 1 or > 3600)
            {
                throw Invalid(path, $"must be a whole number of seconds from 1 to 3600, not {value.GetRawText()}");
            }

            return seconds;
        }

        /// <summary>The value of a key, or null when it is missing or JSON null.</summary>
        private static JsonElement? Optional(JsonElement parent, string key) =>
            parent.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        /// <summary>A string, or null when missing, JSON null or empty (so it never binds as an empty string).</summary>
        private string? OptionalString(JsonElement parent, string parentPath, string key)
        {
            if (Optional(parent, key) is not { } value)
            {
                return null;
            }

            Expect(value, parentPath + "." + key, JsonValueKind.String, "a string");
            var text = value.GetString();
            return string.IsNullOrWhiteSpace(text) ? null : text;
        }

        private string[] OptionalStrings(JsonElement parent, string parentPath, string key)
        {
            if (Optional(parent, key) is not { } value)
            {
                return [];
            }

            var path = parentPath + "." + key;
            Expect(value, path, JsonValueKind.Array, "an array of strings");
            var index = 0;
            var strings = new List<string>();
            foreach (var item in value.EnumerateArray())
            {
                Expect(item, $"{path}[{index++}]", JsonValueKind.String, "a string");
                strings.Add(item.GetString()!);
            }

            return [.. strings];
        }

        private int? OptionalPort(JsonElement parent, string parentPath, string key)
        {
            if (Optional(parent, key) is not { } value)
            {
                return null;
            }

            var path = parentPath + "." + key;
            Expect(value, path, JsonValueKind.Number, "a port number");
            if (!value.TryGetInt32(out var port) || port is < 1 or > 65535)
            {
                throw Invalid(path, $"must be a port number from 1 to 65535, not {value.GetRawText()}");
            }

            return port;
        }

        private void Expect(JsonElement value, string path, JsonValueKind kind, string what)
        {
            if (value.ValueKind != kind)
            {
                throw Invalid(path, $"must be {what}, not {Describe(value)}");
            }
        }

        private AtelierException Invalid(string path, string problem)
        {
            var where = _where.Length == 0 ? string.Empty : $" ({_where})";
            return new AtelierException(InvalidErrorId, FailureKind.InvalidData, $"The services manifest from {source} is invalid{where}: {path} {problem}.");
        }

        private static string Describe(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => string.Create(CultureInfo.InvariantCulture, $"the string {value.GetRawText()}"),
            JsonValueKind.Number => $"the number {value.GetRawText()}",
            JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
            JsonValueKind.Array => "an array",
            JsonValueKind.Object => "an object",
            JsonValueKind.Null => "null",
            _ => value.ValueKind.ToString(),
        };

        /// <summary>A key as a JSON path step: <c>.name</c>, or <c>["odd name"]</c> when it is not a plain identifier.</summary>
        private static string Key(string key) =>
            key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? "." + key : $"[{JsonSerializer.Serialize(key)}]";
    }
}
