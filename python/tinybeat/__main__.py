from tinybeat.cli import main

raise SystemExit(main())
