from kilowatch.cli import main

main()
