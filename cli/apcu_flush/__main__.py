from apcu_flush.cli import main

raise SystemExit(main())
