# Partition table and filesystem layer (owned by the hexz-diff work).
