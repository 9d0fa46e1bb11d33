# terebithia: the arm server behind most public services.
{
  inputs,
  lib,
  config,
  pkgs,
  ...
}:
let
  # Shown at login. Not Nix code, whatever it looks like: a closing } and port = 9999;
  motd = ''
    terebithia }
      atelier.services.ghost = { enable = true; port = 9999; };
    ''${not an antiquotation} and ''' quotes
  '';
in
{
  imports = [
    ../../modules/nixos/services/cachet.nix
    ../../modules/nixos/services/l4.nix
  ];

  networking.hostName = "terebithia";
  users.motd = motd;
  time.timeZone = "America/New_York";

  age.identityPaths = [ "/etc/ssh/ssh_host_ed25519_key" ];
  age.secrets = {
    cachet = {
      file = ../../secrets/cachet.age;
      owner = "cachet";
    };
    "bore/auth-token".file = ../../secrets/bore/auth-token.age;
    cloudflare = {
      file = ../../secrets/cloudflare.age;
      owner = "caddy";
    };
  };

  /*
    Retired: atelier.services.old = { enable = true; port = 9998; };
    }
  */
  services.caddy = {
    enable = true;
    globalConfig = ''
      # a Caddyfile comment, not a Nix one }
      respond "port = 9999" 200
    '';
  };
  systemd.services.caddy.serviceConfig.EnvironmentFile = config.age.secrets.cloudflare.path;

  environment.systemPackages = with pkgs; [
    git
    sqlite
  ];

  atelier.services.cachet = {
    enable = true;
    domain = "cachet.example.org";
    repository = "https://github.com/example/cachet";
    secretsFile = config.age.secrets.cachet.path;
    healthUrl = "https://cachet.example.org/health?detailed=true";
  };

  atelier.services.l4 = {
    enable = true;
    domain = "l4.example.org";
    port = 3004; # moved off the module's 3003
    repository = "https://github.com/example/l4";
    healthUrl = "https://l4.example.org/health";
  };

  system.stateVersion = "25.05";
}
