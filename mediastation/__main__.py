from mediastation.cli.main import main

main()
