"""Hypothesis strategies for every wire value and message."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pymodaq_plugins_scopeone.protocol import (
    AuthChallenge,
    AuthResponse,
    Axis,
    ClientType,
    DataActuator,
    DataReady,
    DataToExport,
    DataWithAxes,
    GetActuatorValue,
    Hello,
    Info,
    Infos,
    InfoXml,
    LegacyAxis,
    MoveAbs,
    MoveDone,
    MoveHome,
    MoveRel,
    ParameterWithPath,
    PositionIs,
    Quit,
    SendData,
    SetInfo,
    StopMotion,
)

DTYPES = [
    "|b1",
    "|i1",
    "|u1",
    "<i2",
    ">i2",
    "<u2",
    ">u2",
    "<i4",
    "<u4",
    ">u4",
    "<i8",
    ">u8",
    "<f4",
    ">f4",
    "<f8",
    ">f8",
    "<c8",
    ">c16",
]

texts = st.text(max_size=12)
dtypes = st.sampled_from(DTYPES).map(np.dtype)


def arrays(max_dims: int = 3, min_side: int = 0) -> st.SearchStrategy[np.ndarray]:
    shapes = hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=min_side, max_side=5)
    return dtypes.flatmap(lambda dtype: hnp.arrays(dtype, shapes))


scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True),
    st.complex_numbers(allow_nan=False),
    dtypes.flatmap(lambda dtype: hnp.from_dtype(dtype).map(lambda v: np.array([v], dtype=dtype)[0])),
)

axes = st.builds(
    Axis,
    label=texts,
    units=texts,
    data=hnp.arrays(np.float64, st.integers(0, 6)),
    index=st.integers(0, 3),
    spread_order=st.integers(-1, 3),
)


def dwas(depth: int = 1) -> st.SearchStrategy[DataWithAxes]:
    @st.composite
    def build(draw: st.DrawFn) -> DataWithAxes:
        first = draw(arrays(max_dims=3, min_side=1))
        channels = draw(st.integers(1, 3))
        same = hnp.arrays(first.dtype, first.shape)
        data = (first, *(draw(same) for _ in range(channels - 1)))
        errors = tuple(draw(same) for _ in range(channels)) if draw(st.booleans()) else ()
        extras = draw(st.dictionaries(st.text(min_size=1, max_size=8), values(depth - 1), max_size=3))
        class_name = draw(st.sampled_from(["DataWithAxes", "DataRaw", "DataFromPlugins", "DataCalculated"]))
        return DataWithAxes(
            name=draw(texts),
            data=data,
            class_name=class_name,
            units=draw(texts),
            source=draw(st.sampled_from(["raw", "calculated"])),
            dim=draw(st.sampled_from(["Data0D", "Data1D", "Data2D", "DataND"])),
            distribution=draw(st.sampled_from(["uniform", "spread"])),
            labels=tuple(draw(st.lists(texts, max_size=channels + 1))),
            origin=draw(texts),
            nav_indexes=tuple(draw(st.lists(st.integers(0, 3), max_size=2))),
            axes=tuple(draw(st.lists(axes, max_size=2))),
            errors=errors,
            extra_attributes=extras,
            timestamp=draw(st.floats(allow_nan=False, allow_infinity=False)),
        )

    return build()


positions = st.one_of(
    st.floats(allow_nan=False),
    st.builds(
        DataActuator.of,
        st.floats(allow_nan=False),
        units=texts,
        name=texts,
        timestamp=st.floats(0, 2e9),
    ),
)


def dtes(depth: int = 1) -> st.SearchStrategy[DataToExport]:
    return st.builds(
        DataToExport,
        name=texts,
        data=st.lists(dwas(depth), max_size=2).map(tuple),
        timestamp=st.floats(allow_nan=False, allow_infinity=False),
    )


def values(depth: int = 2) -> st.SearchStrategy[object]:
    leaves = st.one_of(scalars, texts, st.binary(max_size=10), arrays())
    if depth <= 0:
        return leaves
    return st.one_of(
        leaves,
        st.lists(values(depth - 1), max_size=3).map(tuple),
        axes,
        st.builds(ParameterWithPath, path=st.lists(texts, max_size=3).map(tuple), xml=texts),
        dwas(depth - 1),
    )


paths = st.lists(texts, max_size=3).map(tuple)

messages = st.one_of(
    st.sampled_from(list(ClientType)).map(Hello),
    st.sampled_from(["0D", "1D", "2D", "ND"]).map(SendData),
    positions.map(MoveAbs),
    positions.map(MoveRel),
    positions.map(PositionIs),
    positions.map(MoveDone),
    st.just(MoveHome()),
    st.just(StopMotion()),
    st.just(Quit()),
    st.booleans().map(GetActuatorValue),
    st.builds(SetInfo, paths, texts),
    st.builds(InfoXml, paths, texts),
    st.builds(Infos, texts),
    st.builds(Info, texts, texts),
    dtes().map(DataReady),
    st.lists(values(1), max_size=3).map(lambda items: DataReady(tuple(items))),
    st.builds(LegacyAxis, st.sampled_from(["x", "y"]), arrays(max_dims=1), texts, texts),
    st.text("0123456789abcdef", min_size=64, max_size=64).map(AuthChallenge),
    st.text("0123456789abcdef", min_size=64, max_size=64).map(AuthResponse),
)
