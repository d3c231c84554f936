"""The ``rhel`` command line. One module per subcommand; :mod:`rhel.cli.main` wires them together."""
