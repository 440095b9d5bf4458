// Nothing: the package only pins mshv-ioctls (see Cargo.toml).
