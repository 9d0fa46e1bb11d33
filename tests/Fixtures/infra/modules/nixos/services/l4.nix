# l4 - image CDN in front of an object store
#
# No local data: everything lives in the bucket. defaultPort is only a default; terebithia moves it.

let
  mkService = import ../../lib/mkService.nix;
in

mkService {
  name = "l4";
  description = "Image CDN";
  defaultPort = 3003;
  runtime = "node";
  entryPoint = "dist/server.js";
}
