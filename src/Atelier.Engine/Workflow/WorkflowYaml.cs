using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Atelier.Workflow;

/// <summary>
/// Builds and writes the workflow files: a YamlDotNet node tree in, the same bytes for the same tree out (LF, two-space
/// indent, no line folding, a blank line between top-level keys). Every caller-supplied string goes through
/// <see cref="Text"/>, which quotes it whenever a plain scalar would not read back as exactly that string and refuses
/// a GitHub expression (<c>${{</c>), which Actions would evaluate instead of passing on.
/// </summary>
internal static class WorkflowYaml
{
    private static readonly HashSet<string> NotPlainStrings = new(StringComparer.OrdinalIgnoreCase)
    {
        // YAML 1.1 and 1.2 booleans and nulls; GitHub's parser and others disagree on which apply, so quote them all.
        "y", "n", "yes", "no", "on", "off", "true", "false", "null",
    };

    /// <summary>A caller's value: plain when that is unambiguous, else double-quoted (escapes keep it exact).</summary>
    public static YamlScalarNode Text(string value, string field)
    {
        RefuseExpression(value, field);
        return new YamlScalarNode(value) { Style = IsPlainString(value) ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted };
    }

    /// <summary>A value Atelier writes itself (keys, action names, its own <c>${{ }}</c> expressions): plain.</summary>
    public static YamlScalarNode Plain(string value) => new(value) { Style = ScalarStyle.Plain };

    /// <summary>A key a caller chose (a secret name): plain, or double-quoted when plain would not read as that string.</summary>
    public static YamlScalarNode Key(string key) => IsPlainString(key) ? Plain(key) : Quoted(key);

    /// <summary>A value that must read as a string although it looks like something else (<c>"true"</c>).</summary>
    public static YamlScalarNode Quoted(string value) => new(value) { Style = ScalarStyle.DoubleQuoted };

    /// <summary>A YAML boolean.</summary>
    public static YamlScalarNode Boolean(bool value) => Plain(value ? "true" : "false");

    /// <summary>A YAML integer.</summary>
    public static YamlScalarNode Number(int value) => Plain(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>A script for <c>run:</c>, as a literal block; it must not contain a GitHub expression.</summary>
    public static YamlScalarNode Script(string text)
    {
        if (text.Contains("${{", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("A run: script must read its values from env:, never from a ${{ }} expression.");
        }

        return new YamlScalarNode(text) { Style = ScalarStyle.Literal };
    }

    /// <summary>Refuses a value with <c>${{</c>: Actions would evaluate it as an expression.</summary>
    public static void RefuseExpression(string value, string field)
    {
        if (value.Contains("${{", StringComparison.Ordinal))
        {
            throw new AtelierException(
                "WorkflowExpressionRefused",
                FailureKind.InvalidArgument,
                $"The {field} contains \"${{{{\", which GitHub Actions would evaluate as an expression; give the literal value without it.");
        }
    }

    /// <summary>
    /// True when a plain scalar reads back as this exact string under YAML 1.1 and 1.2: it starts with a letter, '_', '/',
    /// './' or '../'; it holds only ASCII letters, digits, spaces and <c>-_./@+=~:(),;'</c>; no leading or trailing
    /// space, no ": " or final ':'; and it is not a boolean or null word.
    /// </summary>
    public static bool IsPlainString(string value)
    {
        if (value.Length == 0 || NotPlainStrings.Contains(value))
        {
            return false;
        }

        var first = value[0];
        // "." and ".." match YAML 1.1's float pattern, so they are quoted; "./x" and "../x" are not.
        var startsWell = char.IsAsciiLetter(first) || first == '_' || first == '/'
            || value.StartsWith("./", StringComparison.Ordinal) || value.StartsWith("../", StringComparison.Ordinal);
        if (!startsWell || value[^1] == ' ' || value[^1] == ':' || value.Contains(": ", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && " -_./@+=~:(),;'".IndexOf(c, StringComparison.Ordinal) < 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A block mapping from keys and values in the order given; null values are left out.</summary>
    public static YamlMappingNode Mapping(params (string Key, YamlNode? Value)[] entries)
    {
        var mapping = new YamlMappingNode();
        foreach (var (key, value) in entries)
        {
            if (value is not null)
            {
                mapping.Add(Plain(key), value);
            }
        }

        return mapping;
    }

    /// <summary>The document as text: the comment lines first, then the tree; LF line ends and a final newline.</summary>
    public static string Write(YamlMappingNode root, IEnumerable<string> headerComments)
    {
        var body = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var emitter = new Emitter(body, new EmitterSettings(
            bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: 1024, indentSequences: true, newLine: "\n"));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        Emit(emitter, root);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());

        var text = new StringBuilder();
        foreach (var comment in headerComments)
        {
            text.Append("# ").Append(comment).Append('\n');
        }

        // Every line of the tree that starts in column 0 is a top-level key: nested content is indented and scalars
        // never break across lines (no folding, line breaks escaped in quoted scalars), so the blank lines are safe.
        var lines = body.ToString().Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (i > 0 && lines[i].Length > 0 && lines[i][0] != ' ' && lines[i][0] != '-')
            {
                text.Append('\n');
            }

            text.Append(lines[i]);
            if (i < lines.Length - 1)
            {
                text.Append('\n');
            }
        }

        return text.ToString();
    }

    private static void Emit(IEmitter emitter, YamlNode node)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, scalar.Value ?? string.Empty, scalar.Style, isPlainImplicit: true, isQuotedImplicit: true));
                break;
            case YamlMappingNode mapping:
                emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, isImplicit: true, mapping.Style == MappingStyle.Flow ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (key, value) in mapping.Children)
                {
                    Emit(emitter, key);
                    Emit(emitter, value);
                }

                emitter.Emit(new MappingEnd());
                break;
            case YamlSequenceNode sequence:
                emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, isImplicit: true, SequenceStyle.Block));
                foreach (var item in sequence.Children)
                {
                    Emit(emitter, item);
                }

                emitter.Emit(new SequenceEnd());
                break;
            default:
                throw new InvalidOperationException($"Unexpected YAML node {node.GetType().Name}.");
        }
    }
}
