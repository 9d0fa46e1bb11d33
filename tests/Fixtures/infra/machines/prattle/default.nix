# prattle: a small x86 box for a second copy of cachet.
{ config, pkgs, ... }:
{
  networking.hostName = "prattle";

  age.secrets.cachet = {
    file = ../../secrets/cachet.age;
    owner = "cachet";
  };

  atelier.services.cachet = {
    enable = true;
    domain = "cachet.prattle.example.org";
    secretsFile = config.age.secrets.cachet.path;
  };

  system.stateVersion = "25.05";
}
