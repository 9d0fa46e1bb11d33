using System.Runtime.CompilerServices;
using System.Text;

namespace Atelier.Shell;

/// <summary>
/// A command line for a POSIX shell on a host. Built only with <see cref="Format"/>, whose interpolation holes are
/// quoted by <see cref="RemoteValue"/>, so no caller can splice an unquoted value into a remote command.
/// </summary>
public sealed class ShellCommand
{
    private ShellCommand(string text) => Text = text;

    /// <summary>The command line exactly as the remote shell receives it.</summary>
    public string Text { get; }

    /// <summary>Builds a command: literal parts are kept, every hole is quoted (or is an already safe command).</summary>
    public static ShellCommand Format([InterpolatedStringHandlerArgument] ref Builder command) => new(command.ToStringAndClear());

    /// <summary>Joins commands with <c>&amp;&amp;</c>.</summary>
    public static ShellCommand All(IEnumerable<ShellCommand> commands) => new(string.Join(" && ", commands.Select(c => c.Text)));

    /// <summary>Joins commands (or parts of one) with a blank: each was itself built safely.</summary>
    public static ShellCommand Join(IEnumerable<ShellCommand> parts) => new(string.Join(' ', parts.Select(c => c.Text)));

    /// <summary>
    /// A command given as its words (a program and its arguments): each checked by <see cref="RemoteValue.Argument"/> and
    /// quoted, so each reaches the program as one argument, whatever it holds.
    /// </summary>
    public static ShellCommand Words(IEnumerable<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        var list = words.ToList();
        if (list.Count == 0)
        {
            throw new RemoteValueException("argument list", string.Empty, "it is empty");
        }

        return new(string.Join(' ', list.Select((w, i) => RemoteValue.Quote(RemoteValue.Argument(w, i == 0 ? "program" : "argument")))));
    }

    /// <summary>Runs a script (kept in this assembly) with <c>sh -c</c>, each argument quoted as a positional parameter.</summary>
    public static ShellCommand Script(string script, params string[] arguments)
    {
        var sb = new StringBuilder("sh -c ");
        sb.Append(RemoteValue.Quote(script)).Append(" atelier");
        foreach (var argument in arguments)
        {
            sb.Append(' ').Append(RemoteValue.Quote(argument));
        }

        return new ShellCommand(sb.ToString());
    }

    public override string ToString() => Text;

    /// <summary>Interpolated-string handler: quotes each hole.</summary>
    [InterpolatedStringHandler]
    public ref struct Builder
    {
        private StringBuilder? _text;

        public Builder(int literalLength, int formattedCount) => _text = new StringBuilder(literalLength + (formattedCount * 16));

        public void AppendLiteral(string value) => _text!.Append(value);

        /// <summary>A string hole: always quoted.</summary>
        public void AppendFormatted(string value) => _text!.Append(RemoteValue.Quote(value));

        /// <summary>A path hole: validated, quoted, with a leading <c>~/</c> kept meaning home.</summary>
        public void AppendFormatted(RemotePath value) => _text!.Append(RemoteValue.QuotePath(value.Value));

        /// <summary>A nested command that was itself built safely.</summary>
        public void AppendFormatted(ShellCommand value) => _text!.Append(value.Text);

        public void AppendFormatted(int value) => _text!.Append(value.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public void AppendFormatted(long value) => _text!.Append(value.ToString(System.Globalization.CultureInfo.InvariantCulture));

        internal string ToStringAndClear()
        {
            var text = _text!.ToString();
            _text = null;
            return text;
        }
    }
}

/// <summary>A path on the host that passed <see cref="RemoteValue.Path"/>.</summary>
public readonly record struct RemotePath
{
    public RemotePath(string value) => Value = RemoteValue.Path(value);

    public string Value { get; }

    public override string ToString() => Value;
}
