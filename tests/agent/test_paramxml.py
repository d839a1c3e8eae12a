"""Parameter XML: byte-identical to PyMoDAQ 4.4's parameter_to_xml_string, and read back safely."""

from __future__ import annotations

import pytest

from pymodaq_plugins_scopeone.agent._paramxml import Param, ParameterXmlError, from_xml, resolve_path, to_xml

# Written by pymodaq 4.4.11's ioxml.parameter_to_xml_string in the side environment for the
# same tree (Parameter.create with these names, titles, types, values, limits, readonly).
GOLDEN_44 = (
    '<settings type="group" title="settings" visible="1" removable="0" readonly="0">'
    '<identity type="group" title="Identity" visible="1" removable="0" readonly="0">'
    '<kind type="str" title="Kind" visible="1" removable="0" readonly="1">camera</kind>'
    '<camera type="str" title="Camera" visible="1" removable="0" readonly="1">Camera</camera></identity>'
    '<exposure_ms type="float" title="Exposure (ms)" visible="1" removable="0" readonly="0">10.0</exposure_ms>'
    '<binning type="list" title="Binning" visible="1" removable="0" readonly="0" limits="[1, 2, 4, 8]">int(1)</binning>'
    '<preview type="bool" title="Preview" visible="1" removable="0" readonly="0">1</preview>'
    '<pixel_type type="list" title="Pixel" visible="1" removable="0" readonly="0" '
    "limits=\"['8bit', '16bit']\">str('8bit')</pixel_type>"
    '<units type="str" title="Units" visible="1" removable="0" readonly="0">&#181;m &amp; &lt;x&gt;</units>'
    '<full_frame type="action" title="Full frame" visible="1" removable="0" readonly="0">None</full_frame>'
    '<n type="int" title="N" visible="1" removable="0" readonly="0">3</n></settings>'
)


def golden_tree() -> Param:
    return Param(
        "settings",
        "group",
        "settings",
        children=[
            Param(
                "identity",
                "group",
                "Identity",
                children=[
                    Param("kind", "str", "Kind", "camera", readonly=True),
                    Param("camera", "str", "Camera", "Camera", readonly=True),
                ],
            ),
            Param("exposure_ms", "float", "Exposure (ms)", 10.0),
            Param("binning", "list", "Binning", 1, limits=[1, 2, 4, 8]),
            Param("preview", "bool", "Preview", True),
            Param("pixel_type", "list", "Pixel", "8bit", limits=["8bit", "16bit"]),
            Param("units", "str", "Units", "µm & <x>"),
            Param("full_frame", "action", "Full frame"),
            Param("n", "int", "N", 3),
        ],
    )


def test_xml_is_byte_identical_to_pymodaq_44() -> None:
    assert to_xml(golden_tree()) == GOLDEN_44


def test_xml_reads_back_values_and_types() -> None:
    tree = from_xml(GOLDEN_44)
    assert tree.child("identity", "camera").value == "Camera"
    assert tree.child("identity", "kind").readonly is True
    assert tree.child("exposure_ms").value == 10.0
    assert tree.child("binning").value == 1 and isinstance(tree.child("binning").value, int)
    assert tree.child("pixel_type").value == "8bit"
    assert tree.child("preview").value is True
    assert tree.child("units").value == "µm & <x>"
    assert tree.child("n").value == 3


def test_pymodaq5_layout_is_read_too() -> None:
    # pymodaq 5.3.8 adds enabled/renamable/expanded/... and a suffix attribute
    xml = (
        '<exposure_ms type="float" title="Exposure (ms)" visible="1" removable="0" readonly="0" enabled="1" '
        'renamable="0" expanded="1" syncExpanded="0" showTop="0" strictNaming="0" suffix="ms">12.5</exposure_ms>'
    )
    param = from_xml(xml)
    assert (param.name, param.value) == ("exposure_ms", 12.5)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<x type='float'>abc</x>", "cannot read the value 'abc'"),
        ("<x>1</x>", "no type attribute"),
        ("<x type='int'>1", "not well-formed"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><x type="str">&a;</x>', "DOCTYPE"),
        ("<x type='int'>inf</x>", "cannot read the value 'inf'"),  # was an OverflowError (issue 7 fuzzing)
        ("<x type='list'>int(1e999)</x>", "cannot read the value"),
    ],
)
def test_bad_xml_is_refused_with_a_clear_error(xml: str, message: str) -> None:
    with pytest.raises(ParameterXmlError, match=message):
        from_xml(xml)


def test_list_values_are_not_evaluated() -> None:
    param = from_xml("<b type='list'>__import__('os').getcwd()</b>")
    assert param.value == "__import__('os').getcwd()"


@pytest.mark.parametrize(
    ("path", "name", "expected"),
    [
        (("roi", "x"), "x", ("roi", "x")),  # PyMoDAQ 4.4's server: path below settings_client
        (("detector_settings", "roi", "x"), "x", ("roi", "x")),  # a PyMoDAQ client's own path
        (("exposure_ms",), "exposure_ms", ("exposure_ms",)),
        (("settings_client", "exposure_ms"), "exposure_ms", ("exposure_ms",)),
        ((), "preview", ("preview",)),
        (("other", "roi", "x"), "x", ("roi", "x")),  # unknown leading parts are skipped
    ],
)
def test_set_info_paths_resolve(path: tuple, name: str, expected: tuple) -> None:
    root = Param(
        "detector_settings",
        "group",
        children=[
            Param("exposure_ms", "float", value=1.0),
            Param("preview", "bool", value=False),
            Param("roi", "group", children=[Param("x", "int", value=0)]),
        ],
    )
    assert resolve_path(root, path, name) == expected


def test_unknown_path_raises_key_error_naming_it() -> None:
    root = Param("detector_settings", "group", children=[Param("exposure_ms", "float", value=1.0)])
    with pytest.raises(KeyError, match="gain"):
        resolve_path(root, ("gain",), "gain")
