// Printing strings that come from a guest (file names, link targets,
// messages) so that they can neither forge a line of output nor reach a
// terminal as a control sequence.  Used by hexz-diff and hexz-log.
#pragma once
#include <string>

namespace hexz {

// virt-diff prints xattr values with every byte that is not printable
// ASCII as "\xHH"; hexz-diff applies that rule to every string from the
// guest, keeping valid UTF-8 as it is: a control character (0x00-0x1f,
// 0x7f, the C1 controls U+0080-U+009F), a byte that is not part of valid
// UTF-8, and the backslash itself (so that the escaping can be undone)
// become "\xHH".  With ASCII_ONLY (xattr values, as virt-diff) every byte
// >= 0x80 is escaped too.
std::string escape_text(const std::string &s, bool ascii_only = false);

}  // namespace hexz
