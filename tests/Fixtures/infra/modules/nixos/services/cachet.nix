# cachet - Slack emoji and profile picture cache
#
# A bun app with one SQLite database in its data folder, backed up online (WAL checkpoint, no stop).

let
  mkService = import ../../lib/mkService.nix;
in

mkService {
  name = "cachet";
  description = "Slack emoji and profile picture cache";
  defaultPort = 3000;
  runtime = "bun";
  entryPoint = "src/index.ts";

  extraConfig = cfg: {
    systemd.services.cachet.serviceConfig.Environment = [
      "DATABASE_PATH=${cfg.dataDir}/data/cachet.db"
    ];

    atelier.services.cachet.data = {
      sqlite = "${cfg.dataDir}/data/cachet.db";
      stopForBackup = false;
    };
  };
}
