using System.Management.Automation;

// Beside the other validation attributes (Validation.cs), in the namespace the convention tests look for.
namespace Atelier.Commands.Infrastructure;

/// <summary>
/// A name or a wildcard pattern of names from the services manifest (-Name, -Machine): letters, digits, . _ - @ +
/// and the wildcards * ? [ ], and a valid pattern. Such a value only filters the manifest; it never reaches a host.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateNamePatternAttribute : ValidateArgumentsAttribute
{
    public const int MaxLength = 253;

    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        IEnumerable<string> values = (arguments is PSObject ps ? ps.BaseObject : arguments) switch
        {
            null => [],
            string s => [s],
            System.Collections.IEnumerable e => e.Cast<object?>().Select(o => (o is PSObject p ? p.BaseObject : o)?.ToString() ?? string.Empty),
            var other => [other.ToString() ?? string.Empty],
        };
        foreach (var value in values)
        {
            if (value.Length is 0 or > MaxLength || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@' or '+' or '*' or '?' or '[' or ']'))
            {
                throw new ValidationMetadataException(
                    $"The name '{value}' is refused: a name or pattern holds 1 to {MaxLength} letters, digits, '.', '_', '-', '@', '+' and the wildcards '*', '?', '[ ]'.");
            }

            try
            {
                WildcardPattern.Get(value, WildcardOptions.None).IsMatch(string.Empty);
            }
            catch (WildcardPatternException ex)
            {
                throw new ValidationMetadataException($"The pattern '{value}' is not a valid wildcard pattern: {ex.Message}", ex);
            }
        }
    }
}
