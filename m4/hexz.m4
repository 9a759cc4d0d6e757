dnl HEXZ_REQUIRE_PKG(VAR, MODULE, DEBIAN-PACKAGE)
dnl A pkg-config check that names the Debian package to install when the
dnl module is missing, so a newcomer knows exactly what to do.
AC_DEFUN([HEXZ_REQUIRE_PKG], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [AC_MSG_ERROR([$2 was not found by pkg-config: install the Debian package $3 (apt-get install $3)])])
])
