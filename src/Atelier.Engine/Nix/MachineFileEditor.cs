namespace Atelier.Nix;

/// <summary>What <see cref="MachineFileEditor.AddService"/> did.</summary>
public enum MachineEditKind
{
    /// <summary>The block (and the secret declaration it needed) was added before the set's closing brace.</summary>
    Added,

    /// <summary>The same block is already there: nothing to do.</summary>
    Unchanged,

    /// <summary>A different block for the service was there and was swapped for the new one.</summary>
    Replaced,

    /// <summary>A different block for the service is there; the text is left as it was.</summary>
    Conflict,
}

/// <summary>The outcome of adding a service to a machine file.</summary>
public sealed record MachineEdit
{
    /// <summary>What happened.</summary>
    public required MachineEditKind Kind { get; init; }

    /// <summary>The file's new text; the original text for <see cref="MachineEditKind.Unchanged"/> and <see cref="MachineEditKind.Conflict"/>.</summary>
    public required string Text { get; init; }

    /// <summary>The block as Atelier writes it, without its first line's indentation.</summary>
    public required string Block { get; init; }

    /// <summary>What the file already declared for the service, when it declared anything.</summary>
    public string? Existing { get; init; }

    /// <summary>The line (from 1) of the service's declaration in <see cref="Text"/>.</summary>
    public int Line { get; init; }

    /// <summary>True when an <c>age.secrets.&lt;secret&gt;</c> declaration was added too.</summary>
    public bool SecretAdded { get; init; }

    /// <summary>True when <see cref="Text"/> differs from the original.</summary>
    public bool Changed => Kind is MachineEditKind.Added or MachineEditKind.Replaced;
}

/// <summary>
/// Adds a service's <c>atelier.services.&lt;name&gt; = { ... };</c> block to <c>machines/&lt;machine&gt;/default.nix</c>,
/// inside the attribute set the file evaluates to, just before its closing brace, in the file's own indentation and
/// line endings. Every other byte stays as it was. Strings and comments never confuse it: it works on
/// <see cref="NixLexer"/> tokens.
/// </summary>
public static class MachineFileEditor
{
    /// <summary>
    /// The file's text with the service enabled. When the file already has <c>atelier.services.&lt;name&gt; = { ... };</c>
    /// the result is <see cref="MachineEditKind.Unchanged"/> if it reads exactly like the new block, otherwise
    /// <see cref="MachineEditKind.Conflict"/>, or with <paramref name="replace"/> the old block's span is swapped
    /// (<see cref="MachineEditKind.Replaced"/>). When the spec names a secret the file does not declare, an
    /// <c>age.secrets.&lt;secret&gt;</c> declaration owned by the service goes in front of the block.
    /// Throws <c>NixTopLevelSetNotFound</c> or <c>NixSyntaxError</c> for a file it cannot read, and
    /// <c>MachineConfigNotInScope</c> when a secret is named but the file's header does not take <c>config</c>, and
    /// <c>MachineServiceNotReplaceable</c> when <paramref name="replace"/> meets a declaration that is not one block.
    /// </summary>
    /// <param name="file">Named in error messages.</param>
    public static MachineEdit AddService(string text, MachineServiceSpec spec, bool replace = false, string? file = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var source = new NixSource(text, file);
        var top = source.TopLevelSet();
        var (open, close) = (top.Open, top.Close);
        var bindings = source.Bindings(open, close).ToList();
        if (spec.Secret is not null && !top.InScope("config"))
        {
            throw new AtelierException(
                "MachineConfigNotInScope",
                FailureKind.InvalidData,
                $"{file ?? "The machine file"} does not take 'config' among its arguments, so 'secretsFile = config.age.secrets.{spec.Secret}.path;' could not be read there; add 'config' to its function header first.");
        }

        var newLine = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";

        var closeIndent = Indentation(source, source.Tokens[close].Start);
        var indent = bindings.Where(b => b.Nesting == 0).Select(b => source.LeadingIndent(b.First)).FirstOrDefault(i => i is not null)
            ?? closeIndent + (closeIndent.StartsWith('\t') ? "\t" : "  ");
        var step = indent.Length > closeIndent.Length && indent.StartsWith(closeIndent, StringComparison.Ordinal) ? indent[closeIndent.Length..] : "  ";

        var block = MachineBlockWriter.Render(spec, indent, step).Replace("\n", newLine, StringComparison.Ordinal)[indent.Length..];
        var secret = spec.Secret is not null && !DeclaresSecret(bindings, spec.Secret)
            ? MachineBlockWriter.RenderSecret(spec.Secret, spec.Name, indent, step).Replace("\n", newLine, StringComparison.Ordinal)[indent.Length..]
            : null;
        var secretPrefix = secret is null ? string.Empty : secret + newLine + newLine + indent;

        var declared = bindings.Where(b => b.StartsWith("atelier", "services", spec.Name)).ToList();
        if (declared.Count == 0)
        {
            var (at, insert, blockOffset) = Insertion(source, close, indent, closeIndent, newLine, secretPrefix + block);
            var added = text.Insert(at, insert);
            return new MachineEdit
            {
                Kind = MachineEditKind.Added,
                Text = added,
                Block = block,
                Line = LineOf(added, at + blockOffset + secretPrefix.Length),
                SecretAdded = secret is not null,
            };
        }

        var outer = declared[0];
        var start = source.Tokens[outer.First].Start;
        var end = source.Tokens[outer.Semicolon].End;
        var existing = text[start..end];
        var isOneBlock = outer.Nesting == 0 && outer.IsSet && outer.Is("atelier", "services", spec.Name)
            && declared.All(b => b.First >= outer.First && b.Semicolon <= outer.Semicolon);
        if (!isOneBlock)
        {
            if (replace)
            {
                throw new AtelierException(
                    "MachineServiceNotReplaceable",
                    FailureKind.InvalidData,
                    $"{file ?? "The machine file"} declares atelier.services.{spec.Name} in another form than one 'atelier.services.{spec.Name} = {{ ... }};' block (line {source.Tokens[outer.First].Line}), so Atelier cannot replace it; edit it by hand.");
            }

            return new MachineEdit { Kind = MachineEditKind.Conflict, Text = text, Block = block, Existing = existing, Line = source.Tokens[outer.First].Line };
        }

        if (existing == block || replace)
        {
            var kind = existing == block ? (secret is null ? MachineEditKind.Unchanged : MachineEditKind.Added) : MachineEditKind.Replaced;
            var changed = kind == MachineEditKind.Unchanged ? text : string.Concat(text.AsSpan(0, start), secretPrefix + block, text.AsSpan(end));
            return new MachineEdit
            {
                Kind = kind,
                Text = changed,
                Block = block,
                Existing = existing,
                Line = LineOf(changed, start + (kind == MachineEditKind.Unchanged ? 0 : secretPrefix.Length)),
                SecretAdded = kind != MachineEditKind.Unchanged && secret is not null,
            };
        }

        return new MachineEdit { Kind = MachineEditKind.Conflict, Text = text, Block = block, Existing = existing, Line = source.Tokens[outer.First].Line };
    }

    /// <summary>
    /// True when the bindings of a file's top-level set declare <c>age.secrets.&lt;secret&gt;</c>, as a dotted binding
    /// or inside an <c>age.secrets = { ... };</c> (or <c>age = { ... };</c>) set: whether <see cref="AddService"/> must
    /// add the declaration.
    /// </summary>
    internal static bool DeclaresSecret(IEnumerable<NixBinding> bindings, string secret) =>
        bindings.Any(b => b.StartsWith("age", "secrets", secret));

    /// <summary>
    /// Where and what to insert before the set's closing brace: when the brace starts its line, whole lines go just
    /// before that line, after a blank line unless there is one already (or the set is empty); otherwise the block
    /// goes on new lines before the brace. <c>BlockOffset</c> is where the block starts within the inserted text.
    /// </summary>
    private static (int At, string Insert, int BlockOffset) Insertion(NixSource source, int close, string indent, string closeIndent, string newLine, string block)
    {
        var text = source.Text;
        var brace = source.Tokens[close].Start;
        if (source.LeadingIndent(close) is not null)
        {
            var at = source.LineStart(brace);
            var before = text[..at];
            var withoutBreak = before.EndsWith("\r\n", StringComparison.Ordinal) ? before[..^2] : before.EndsWith('\n') ? before[..^1] : before;
            var afterBlank = string.IsNullOrWhiteSpace(withoutBreak[(withoutBreak.LastIndexOf('\n') + 1)..]);
            var emptySet = source.Tokens[close - 1].IsSymbol("{") && close - 1 == source.Match(close);
            var lead = afterBlank || emptySet ? string.Empty : newLine;
            return (at, lead + indent + block + newLine, lead.Length + indent.Length);
        }

        var insert = newLine + indent + block + newLine + closeIndent;
        return (brace, insert, newLine.Length + indent.Length);
    }

    private static string Indentation(NixSource source, int offset)
    {
        var lineStart = source.LineStart(offset);
        var end = lineStart;
        while (end < source.Text.Length && source.Text[end] is ' ' or '\t')
        {
            end++;
        }

        return source.Text[lineStart..end];
    }

    private static int LineOf(string text, int offset)
    {
        var line = 1;
        for (var i = 0; i < offset && i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                line++;
            }
        }

        return line;
    }
}
