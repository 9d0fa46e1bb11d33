# mkService: turns a few facts about an app into a NixOS module.
#
#   let mkService = import ../../lib/mkService.nix; in
#   mkService { name = "myapp"; defaultPort = 3000; extraConfig = cfg: { ... }; }
#
# The module declares atelier.services.<name> and, once enabled, a system user whose home is
# the data folder, a hardened systemd unit, a Caddy virtual host, and backup declarations.
{
  name,
  description ? "${name} service",
  defaultPort ? 3000,
  runtime ? "bun", # one of "bun", "node", "custom"
  entryPoint ? "src/index.ts",
  startCommand ? null,
  extraOptions ? { },
  extraConfig ? cfg: { },
}:

{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib) mkOption mkEnableOption mkIf types;
  cfg = config.atelier.services.${name};

  runtimeCommands = {
    bun = "${pkgs.bun}/bin/bun run ${entryPoint}";
    node = "${pkgs.nodejs}/bin/node ${entryPoint}";
    custom = "";
  };
  start = if startCommand != null then startCommand else runtimeCommands.${runtime};

  stringOrNull = types.nullOr types.str;

  # Every other enabled atelier service that listens on this service's port.
  sharingPort = lib.attrNames (
    lib.filterAttrs (
      other: svc: other != name && (svc.enable or false) && (svc.port or null) == cfg.port
    ) config.atelier.services
  );
in
{
  options.atelier.services.${name} = {
    enable = mkEnableOption description;
    domain = mkOption {
      type = types.str;
      description = "Host name Caddy serves ${name} on.";
    };
    port = mkOption {
      type = types.port;
      default = defaultPort;
      description = "Port ${name} listens on (localhost only).";
    };
    dataDir = mkOption {
      type = types.path;
      default = "/var/lib/${name}";
      description = "Home of the ${name} user: the checkout in app/, state in data/.";
    };
    secretsFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "Environment file with secrets (an agenix secret's path).";
    };
    repository = mkOption {
      type = stringOrNull;
      default = null;
      description = "Git repository cloned into dataDir/app on first start.";
    };
    healthUrl = mkOption {
      type = stringOrNull;
      default = null;
      description = "URL that answers 200 when ${name} is healthy.";
    };
    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "More environment variables for the unit.";
    };

    data = {
      sqlite = mkOption {
        type = stringOrNull;
        default = null;
        description = "SQLite database to checkpoint and back up.";
      };
      stopForBackup = mkOption {
        type = types.bool;
        default = true;
        description = "Stop the unit while it is backed up.";
      };
      stopUnits = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Further units to stop while backing up.";
      };
      postgres = mkOption {
        type = stringOrNull;
        default = null;
        description = "PostgreSQL database to dump for backups.";
      };
      files = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "More files or folders to back up.";
      };
      exclude = mkOption {
        type = types.listOf types.str;
        default = [ "*.log" "node_modules" ".git" ];
        description = "Glob patterns left out of backups.";
      };
    };

    caddy = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Serve ${name} through Caddy.";
      };
      extraConfig = mkOption {
        type = types.lines;
        default = "";
        description = "More Caddyfile lines for the virtual host.";
      };
      rateLimit = {
        enable = mkEnableOption "rate limiting for ${name}";
        events = mkOption {
          type = types.int;
          default = 60;
          description = "Requests allowed per window and client address.";
        };
        window = mkOption {
          type = types.str;
          default = "1m";
          description = "Rate limit window, as a Caddy duration.";
        };
      };
    };
  }
  // extraOptions;

  config = mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = sharingPort == [ ];
            message = "Port conflict detected for ${name}! Port ${toString cfg.port} is also used by: ${lib.concatStringsSep ", " sharingPort}";
          }
        ];

        users.groups.services = { };
        users.groups.${name} = { };
        users.users.${name} = {
          isSystemUser = true;
          group = name;
          extraGroups = [ "services" "systemd-journal" ]; # reads its own unit's journal (Get-ServiceLog)
          home = cfg.dataDir;
          shell = pkgs.bash;
        };

        systemd.tmpfiles.rules = map (dir: "d ${dir} 0750 ${name} services -") [
          cfg.dataDir
          "${cfg.dataDir}/app"
          "${cfg.dataDir}/data"
        ];

        security.sudo.extraRules = [
          {
            users = [ name ];
            commands = map (verb: {
              command = "/run/current-system/sw/bin/systemctl ${verb} ${name}.service";
              options = [ "NOPASSWD" ];
            }) [ "restart" "stop" "start" "status" ];
          }
        ];

        systemd.services.${name} = {
          inherit description;
          wantedBy = [ "multi-user.target" ];
          after = [ "network-online.target" ];
          wants = [ "network-online.target" ];
          path = [ pkgs.git pkgs.bash ];
          preStart = lib.optionalString (cfg.repository != null) ''
            if [ ! -d ${cfg.dataDir}/app/.git ]; then
              git clone ${lib.escapeShellArg cfg.repository} ${cfg.dataDir}/app
            fi
          '';
          serviceConfig = {
            Type = "exec";
            User = name;
            Group = name;
            WorkingDirectory = "${cfg.dataDir}/app";
            ExecStart = "${pkgs.bash}/bin/bash -c ${lib.escapeShellArg start}";
            EnvironmentFile = mkIf (cfg.secretsFile != null) cfg.secretsFile;
            Environment = [
              "PORT=${toString cfg.port}"
              "NODE_ENV=production"
            ] ++ lib.mapAttrsToList (key: value: "${key}=${value}") cfg.environment;
            Restart = "on-failure";
            RestartSec = "5s";
            NoNewPrivileges = true;
            PrivateTmp = true;
            ProtectSystem = "strict";
            ProtectHome = true;
            ReadWritePaths = [ cfg.dataDir ];
          };
        };

        services.caddy.virtualHosts.${cfg.domain} = mkIf cfg.caddy.enable {
          extraConfig = ''
            tls {
              dns cloudflare {env.CLOUDFLARE_API_TOKEN}
            }
            ${lib.optionalString cfg.caddy.rateLimit.enable ''
              rate_limit {
                zone ${name} {
                  key {remote_host}
                  events ${toString cfg.caddy.rateLimit.events}
                  window ${cfg.caddy.rateLimit.window}
                }
              }
            ''}
            ${cfg.caddy.extraConfig}
            reverse_proxy localhost:${toString cfg.port}
          '';
        };
      }
      (extraConfig cfg)
    ]
  );
}
