# agenix: who can decrypt each secret (the .age files themselves are not part of the fixture).
let
  terebithia = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureKeyForAtelierTestsOnlyTerebithia0";
  prattle = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureKeyForAtelierTestsOnlyPrattle000";
in
{
  "cachet.age".publicKeys = [ terebithia prattle ];
  "cloudflare.age".publicKeys = [ terebithia ];
  "bore/auth-token.age".publicKeys = [ terebithia ];
}
