from growgan.cli import main

raise SystemExit(main())
