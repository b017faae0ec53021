"""Part of flowtel.osbot, the OSBot-Utils layout: see flowtel/osbot/__init__.py."""
