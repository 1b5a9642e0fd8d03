from pyreverb.cli import main

main()
