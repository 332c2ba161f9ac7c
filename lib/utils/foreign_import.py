"""Import another project's ``lib`` package under a private name, without copying or editing its files.

The original OSTrack code (github.com/botaoye/OSTrack) is a top-level package called ``lib``, exactly as this
framework is, so both cannot be imported as ``lib`` in one process. :func:`install_foreign_package` puts a
meta-path finder in front of ``sys.meta_path`` that serves modules named ``<alias>`` and ``<alias>.*`` from a
folder (e.g. ``<clone>/lib``); every other name, our own ``lib`` included, is left to the normal import system.

Each served file is read from disk and only its import statements are rewritten before it is compiled, one
line for one line, so line numbers stay the same:

* ``from lib.x import y`` / ``from lib import y`` / ``import lib.x as y`` -> the alias;
  ``import lib.x`` becomes ``import <alias>.x; import <alias> as lib`` so ``lib.x.y`` still resolves;
* timm's removed or deprecated paths: ``timm.models.layers`` -> ``timm.layers``, ``timm.models.helpers`` and
  ``timm.models.registry`` -> ``timm.models``.

The code is compiled with the real file name, so tracebacks and ``module.__file__`` point at the user's file.
Nothing is written into the foreign tree (no ``__pycache__``). Folders without ``__init__.py`` are served as
empty packages. Side effects of the foreign code itself (e.g. timm ``@register_model`` decorators replacing
timm's own registry entries) are not undone.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["ForeignPackageImporter", "install_foreign_package", "uninstall_foreign_package", "rewrite_imports"]

_TIMM_RENAMES = (("timm.models.layers", "timm.layers"), ("timm.models.helpers", "timm.models"),
                 ("timm.models.registry", "timm.models"))


def rewrite_imports(source: str, alias: str, package: str = "lib") -> str:
    """Rewrite the import statements of ``source`` that name ``package`` or timm's old module paths.

    Only statements at the start of a line (after indentation) are touched; the line count is unchanged.

    Args:
        source: Python source text.
        alias: the name ``package`` is served under.
        package: the foreign top-level package name as written in the source.

    Returns:
        The rewritten source.
    """
    pkg = re.escape(package)
    # from lib.x import y / from lib import y
    source = re.sub(rf"^([ \t]*from[ \t]+){pkg}(?=[.\s])", rf"\g<1>{alias}", source, flags=re.M)
    # import lib.x as y: the alias form binds y to the same module
    source = re.sub(rf"^([ \t]*import[ \t]+){pkg}(\.[\w.]+[ \t]+as[ \t]+\w+)", rf"\g<1>{alias}\g<2>", source,
                    flags=re.M)
    # import lib.x (binds the name `lib`): keep that binding, pointing at the alias package
    source = re.sub(rf"^([ \t]*)import[ \t]+{pkg}(\.[\w.]+)?([ \t]*(?:#.*)?)$",
                    lambda m: f"{m.group(1)}import {alias}{m.group(2) or ''}; import {alias} as {package}"
                              f"{m.group(3)}",
                    source, flags=re.M)
    for old, new in _TIMM_RENAMES:
        # `from old import y` and `import old as y` only: a bare `import timm.models.layers` is used as an
        # attribute path (timm.models.layers.y), which the deprecated modules still provide
        old = re.escape(old)
        source = re.sub(rf"^([ \t]*from[ \t]+){old}(?=[.\s])", rf"\g<1>{new}", source, flags=re.M)
        source = re.sub(rf"^([ \t]*import[ \t]+){old}((?:\.\w+)*[ \t]+as[ \t])", rf"\g<1>{new}\g<2>", source,
                        flags=re.M)
    return source


class ForeignPackageImporter(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Meta-path finder and loader serving ``<alias>.*`` from a folder, with rewritten import lines.

    Args:
        package_dir: the folder of the foreign package (e.g. ``<OSTrack clone>/lib``).
        alias: the top-level module name to serve it under (a Python identifier that no installed
            module uses).
        package: the package's own name as its source code imports it.
    """

    def __init__(self, package_dir: str | Path, alias: str, package: str = "lib"):
        self.package_dir = Path(package_dir).resolve()
        self.alias = alias
        self.package = package

    def _path_for(self, fullname: str) -> tuple[Path, bool] | None:
        parts = fullname.split(".")[1:]
        base = self.package_dir.joinpath(*parts)
        if base.is_dir():
            return base, True
        file = base.with_suffix(".py")
        if file.is_file():
            return file, False
        return None

    def find_spec(self, fullname: str, path: object = None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        """Return a spec for ``<alias>`` and its submodules found in the folder; None for every other name."""
        if fullname != self.alias and not fullname.startswith(self.alias + "."):
            return None
        found = self._path_for(fullname)
        if found is None:
            return None  # the import system then raises ModuleNotFoundError naming the module
        location, is_package = found
        if not is_package:
            return importlib.util.spec_from_file_location(fullname, location, loader=self)
        init = location / "__init__.py"
        if init.is_file():
            return importlib.util.spec_from_file_location(fullname, init, loader=self,
                                                          submodule_search_locations=[str(location)])
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        spec.submodule_search_locations = [str(location)]
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        """Use the default module creation."""
        return None

    def get_source(self, fullname: str) -> str:
        """The rewritten source of a served module ("" for a folder without ``__init__.py``)."""
        found = self._path_for(fullname)
        if found is None:
            raise ImportError(f"{fullname} is not in {self.package_dir}", name=fullname)
        location, is_package = found
        file = location / "__init__.py" if is_package else location
        if not file.is_file():
            return ""
        return rewrite_imports(file.read_text(encoding="utf-8"), self.alias, self.package)

    def exec_module(self, module: ModuleType) -> None:
        """Compile the rewritten source under the real file name and run it in the module's namespace."""
        source = self.get_source(module.__name__)
        filename = module.__spec__.origin if module.__spec__.has_location else f"<{module.__name__}>"
        code = compile(source, filename, "exec", dont_inherit=True)
        exec(code, module.__dict__)


def install_foreign_package(package_dir: str | Path, alias: str, package: str = "lib") -> ForeignPackageImporter:
    """Make ``import <alias>.x`` load ``<package_dir>/x`` (see the module docstring).

    Installing the same folder under the same alias again returns the installed importer.

    Args:
        package_dir: the foreign package folder.
        alias: identifier to serve it under; must not be an importable module already.
        package: the package's own name in its import statements.

    Raises:
        ValueError: the alias is not an identifier, is already served from another folder, or names an
            existing module.
    """
    if not alias.isidentifier():
        raise ValueError(f"alias {alias!r} is not a Python identifier")
    package_dir = Path(package_dir).resolve()
    for finder in sys.meta_path:
        if isinstance(finder, ForeignPackageImporter) and finder.alias == alias:
            if finder.package_dir == package_dir and finder.package == package:
                return finder
            raise ValueError(f"alias {alias!r} already serves {finder.package_dir}")
    if alias in sys.modules or importlib.util.find_spec(alias) is not None:
        raise ValueError(f"alias {alias!r} is already an importable module")
    importer = ForeignPackageImporter(package_dir, alias, package)
    sys.meta_path.insert(0, importer)
    importlib.invalidate_caches()
    return importer


def uninstall_foreign_package(alias: str) -> None:
    """Remove the importer of ``alias`` and forget the modules it loaded."""
    sys.meta_path[:] = [f for f in sys.meta_path
                        if not (isinstance(f, ForeignPackageImporter) and f.alias == alias)]
    for name in [n for n in sys.modules if n == alias or n.startswith(alias + ".")]:
        del sys.modules[name]
