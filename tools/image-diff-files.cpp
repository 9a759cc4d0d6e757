#include "image-diff-files.h"

#include "error.h"

namespace hexz {

int files_diff(ImageInput &, ImageInput &, const FileDiffOptions &) {
  throw Error("--files with -b is not available yet (it needs the filesystem layer)", ENOSYS);
}

}  // namespace hexz
