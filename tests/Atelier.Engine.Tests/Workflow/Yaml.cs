using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Atelier.Tests.Workflow;

/// <summary>Reads a generated workflow back with YamlDotNet and answers what a YAML loader would see.</summary>
internal static partial class Yaml
{
    /// <summary>The root mapping of the one document in the text.</summary>
    public static YamlMappingNode Parse(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        Assert.Single(stream.Documents);
        return Assert.IsType<YamlMappingNode>(stream.Documents[0].RootNode);
    }

    /// <summary>The node at a path of mapping keys.</summary>
    public static YamlNode At(YamlNode node, params string[] keys)
    {
        foreach (var key in keys)
        {
            var mapping = Assert.IsType<YamlMappingNode>(node);
            Assert.True(mapping.Children.ContainsKey(new YamlScalarNode(key)), $"No key '{key}' (have: {string.Join(", ", mapping.Children.Keys)}).");
            node = mapping.Children[new YamlScalarNode(key)];
        }

        return node;
    }

    /// <summary>The mapping at a path.</summary>
    public static YamlMappingNode Map(YamlNode node, params string[] keys) => Assert.IsType<YamlMappingNode>(At(node, keys));

    /// <summary>True when the mapping at a path has the key.</summary>
    public static bool Has(YamlNode node, string key) => Assert.IsType<YamlMappingNode>(node).Children.ContainsKey(new YamlScalarNode(key));

    /// <summary>
    /// The string a loader reads from the scalar at a path. A plain scalar that YAML 1.1 or 1.2 resolves to a
    /// boolean, null, number or merge key fails the test: it would not read back as a string.
    /// </summary>
    public static string Text(YamlNode node, params string[] keys)
    {
        var scalar = Assert.IsType<YamlScalarNode>(At(node, keys));
        var value = scalar.Value ?? string.Empty;
        if (scalar.Style == ScalarStyle.Plain)
        {
            Assert.False(NotString().IsMatch(value), $"Plain scalar '{value}' would not load as a string.");
        }

        return value;
    }

    /// <summary>The value of a plain scalar that loads as a non-string (true, 300): its literal text.</summary>
    public static string Plain(YamlNode node, params string[] keys)
    {
        var scalar = Assert.IsType<YamlScalarNode>(At(node, keys));
        Assert.Equal(ScalarStyle.Plain, scalar.Style);
        return scalar.Value ?? string.Empty;
    }

    // YAML 1.1 and 1.2 core schema: booleans, nulls, ints (incl. octal, hex, binary, sexagesimal), floats, merge.
    [GeneratedRegex(@"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|<<|=|[-+]?(?:0|[1-9][0-9_]*|0[0-7_]+|0o[0-7]+|0x[0-9a-fA-F_]+|0b[01_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)|[-+]?(?:[0-9][0-9_]*)?\.[0-9._]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?[0-9]+[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")]
    private static partial Regex NotString();
}
