using System.Globalization;

namespace Atelier.Infra;

/// <summary>
/// The argument list of one deploy-rs run for one node: the flags of <see cref="DeployRsOptions"/>, the target
/// <c>&lt;flake&gt;#&lt;node&gt;</c>, then <c>--</c> and the extra <c>nix build</c> arguments. An argument list, never a
/// shell string: each value is one argument whatever it holds. Values are joined to their flag
/// (<c>--ssh-opts=-p 2222</c>), so a value that starts with '-' is never read as another flag.
/// </summary>
public static class DeployRsCommandLine
{
    /// <summary>The arguments after the deploy-rs command (see <see cref="DeployRsLocator"/>) for <paramref name="node"/>.</summary>
    public static IReadOnlyList<string> For(string node, string flake, DeployRsOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        ArgumentException.ThrowIfNullOrEmpty(flake);
        ArgumentNullException.ThrowIfNull(options);
        var args = new List<string>();
        Value(args, "--ssh-user", options.SshUser);
        Value(args, "--profile-user", options.ProfileUser);
        Value(args, "--ssh-opts", options.SshOpts);
        Value(args, "--hostname", options.Hostname);
        Bool(args, "--fast-connection", options.FastConnection);
        Switch(args, "--skip-checks", options.SkipChecks);
        Switch(args, "--remote-build", options.RemoteBuild);
        Bool(args, "--auto-rollback", options.AutoRollback);
        Bool(args, "--magic-rollback", options.MagicRollback);
        Value(args, "--confirm-timeout", options.ConfirmTimeout?.ToString(CultureInfo.InvariantCulture));
        Value(args, "--activation-timeout", options.ActivationTimeout?.ToString(CultureInfo.InvariantCulture));
        Value(args, "--temp-path", options.TempPath);
        Switch(args, "--boot", options.Boot);
        Switch(args, "--dry-activate", options.DryActivate);
        Bool(args, "--rollback-succeeded", options.RollbackSucceeded);
        Bool(args, "--interactive-sudo", options.InteractiveSudo);
        Value(args, "--sudo", options.SudoCommand);
        Switch(args, "--checksigs", options.CheckSigs);
        Switch(args, "--keep-result", options.KeepResult);
        Value(args, "--result-path", options.ResultPath);
        Switch(args, "--debug-logs", options.DebugLogs);
        Value(args, "--log-dir", options.LogDir);
        args.Add(Target(flake, node));
        if (options.ExtraBuildArgs.Count > 0)
        {
            args.Add("--");
            args.AddRange(options.ExtraBuildArgs);
        }

        return args;
    }

    /// <summary>deploy-rs's target for one node of a flake: <c>&lt;flake&gt;#&lt;node&gt;</c> (<c>.#terebithia</c>).</summary>
    public static string Target(string flake, string node) => $"{flake}#{node}";

    private static void Value(List<string> args, string flag, string? value)
    {
        if (value is not null)
        {
            args.Add($"{flag}={value}");
        }
    }

    private static void Bool(List<string> args, string flag, bool? value)
    {
        if (value is { } set)
        {
            args.Add(set ? $"{flag}=true" : $"{flag}=false");
        }
    }

    private static void Switch(List<string> args, string flag, bool value)
    {
        if (value)
        {
            args.Add(flag);
        }
    }
}
