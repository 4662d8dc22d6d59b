"""An installed app with a command no handler handles, and more odd messages."""
