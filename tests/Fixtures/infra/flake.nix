# A small home-lab flake laid out like the real one Atelier edits: services declared with
# modules/lib/mkService.nix, enabled per machine in machines/<machine>/default.nix.
# (Atelier's test fixture: it is parsed and partly evaluated by the tests, never built.)
{
  description = "Home-lab machines and the services they run";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
    agenix = {
      url = "github:ryantm/agenix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    import-tree.url = "github:vic/import-tree";
  };

  outputs =
    { self, nixpkgs, agenix, ... }@inputs:
    let
      machine =
        name: system:
        nixpkgs.lib.nixosSystem {
          inherit system;
          specialArgs = { inherit inputs; };
          modules = [
            agenix.nixosModules.default
            ./machines/${name}
          ];
        };
    in
    {
      nixosConfigurations = {
        terebithia = machine "terebithia" "aarch64-linux";
        prattle = machine "prattle" "x86_64-linux";
      };
    };
}
