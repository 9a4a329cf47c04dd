from scraper.cli import main

main()
