"""The atlas data model in one place: layer names, columns, enumerations and labels.

Every other module refers to these constants; no layer or column name is typed
as a string literal elsewhere. Vietnamese labels stand beside English ones.
The full model is documented for users in ``docs/data-model.md``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "ATLAS_LAYERS",
    "BANK_LABELS",
    "CAPACITY_UNIT_LABELS",
    "DUONG",
    "EVENT_LABELS",
    "FACILITY_KIND_LABELS",
    "FACILITY_STATUS_LABELS",
    "HOLDER_TYPE_LABELS",
    "INVESTOR_FIELDS",
    "LAND_USE_LABELS",
    "OPTIONAL_LAYERS",
    "PARK_STATUS_LABELS",
    "PERSONAL_FIELDS",
    "PLOT_STATUS_LABELS",
    "SCHEMA_VERSION",
    "SERVICE_KINDS",
    "SIDE_EVENTS",
    "STAGES",
    "Bank",
    "CapacityUnit",
    "Col",
    "Column",
    "Event",
    "FacilityKind",
    "FacilityStatus",
    "HolderType",
    "LandUse",
    "Layer",
    "LayerSpec",
    "ParkStatus",
    "PlotStatus",
    "spec",
]

#: Version of the atlas data model written into every atlas (table ``kcn_gis_meta``).
#: Bump it and add a migration in :mod:`kcn_gis.store.postgis.migrations` when the model changes.
#: Version 2 adds the optional layers ``facilities`` and ``enterprise_reports`` (see :data:`OPTIONAL_LAYERS`).
SCHEMA_VERSION = 2


class Layer(enum.StrEnum):
    """Layer names of an atlas (the public contract)."""

    PROVINCE = "province"
    RIVERS = "rivers"
    PARKS = "parks"
    PLOTS = "plots"
    PARCELS = "parcels"
    CLEARANCE_EVENTS = "clearance_events"
    PROJECTS = "projects"
    FACILITIES = "facilities"
    ENTERPRISE_REPORTS = "enterprise_reports"


class Col(enum.StrEnum):
    """Column names used across layers."""

    NAME = "name"
    NAME_EN = "name_en"
    PARK_ID = "park_id"
    DISTRICT = "district"
    STATUS = "status"
    LISTED_AREA_HA = "listed_area_ha"
    DETAIL_PLAN_APPROVED = "detail_plan_approved"
    DEVELOPER = "developer"
    PLOT_ID = "plot_id"
    LAND_USE = "land_use"
    ACQUIRED_ON = "acquired_on"
    LEASED_ON = "leased_on"
    LEASE_ENDED_ON = "lease_ended_on"
    TENANT = "tenant"
    PROJECT_ID = "project_id"
    PARCEL_ID = "parcel_id"
    COMMUNE = "commune"
    MAP_SHEET = "map_sheet"
    PARCEL_NO = "parcel_no"
    LAND_TYPE = "land_type"
    HOLDER_TYPE = "holder_type"
    HOLDER_NAME = "holder_name"
    LEGAL_AREA_M2 = "legal_area_m2"
    EVENT_ID = "event_id"
    EVENT = "event"
    EVENT_DATE = "event_date"
    REFERENCE = "reference"
    NOTE = "note"
    RECORDED_AT = "recorded_at"
    RECORDED_BY = "recorded_by"
    CORRECTS_EVENT_ID = "corrects_event_id"
    INVESTOR = "investor"
    COUNTRY = "country"
    REGISTERED_CAPITAL_USD = "registered_capital_usd"
    LICENSED_ON = "licensed_on"
    OPERATING_SINCE = "operating_since"
    REVOKED_ON = "revoked_on"
    WORKERS = "workers"
    LOCAL_WORKERS = "local_workers"
    FEMALE_WORKERS = "female_workers"
    # facilities (schema version 2)
    FACILITY_ID = "facility_id"
    KIND = "kind"
    CAPACITY = "capacity"
    CAPACITY_UNIT = "capacity_unit"
    FLOOR_AREA_M2 = "floor_area_m2"
    PLANNED_ON = "planned_on"
    CONSTRUCTION_ON = "construction_on"
    COMMISSIONED_ON = "commissioned_on"
    # enterprise_reports (schema version 2)
    REPORT_ID = "report_id"
    PERIOD = "period"
    REVISION = "revision"
    FILED_ON = "filed_on"
    OUTPUT_BN_VND = "output_bn_vnd"
    EXPORTS_MUSD = "exports_musd"
    BUDGET_BN_VND = "budget_bn_vnd"
    AVG_INCOME_M_VND = "avg_income_m_vnd"
    GEOMETRY = "geometry"
    #: Row version for optimistic locking, kept by the store (not a model field; see Atlas.edit).
    VERSION = "version"


class ParkStatus(enum.StrEnum):
    """Development status of a park (``parks.status``)."""

    OPERATING = "operating"
    CONSTRUCTION = "construction"
    PREPARING = "preparing"


PARK_STATUS_LABELS: dict[ParkStatus, tuple[str, str]] = {
    ParkStatus.OPERATING: ("Đang hoạt động", "Operating"),
    ParkStatus.CONSTRUCTION: ("Đang xây dựng", "Under construction"),
    ParkStatus.PREPARING: ("Đang chuẩn bị đầu tư", "Preparing"),
}


class LandUse(enum.StrEnum):
    """Land use of a plot (``plots.land_use``)."""

    INDUSTRIAL = "industrial"
    SERVICES = "services"
    INFRASTRUCTURE = "infrastructure"
    GREEN = "green"
    OTHER = "other"


LAND_USE_LABELS: dict[LandUse, tuple[str, str]] = {
    LandUse.INDUSTRIAL: ("Đất công nghiệp", "Industrial land"),
    LandUse.SERVICES: ("Đất dịch vụ", "Services"),
    LandUse.INFRASTRUCTURE: ("Đất hạ tầng kỹ thuật, giao thông", "Infrastructure and roads"),
    LandUse.GREEN: ("Đất cây xanh, mặt nước", "Green space and water"),
    LandUse.OTHER: ("Đất khác", "Other"),
}


class PlotStatus(enum.StrEnum):
    """Status of a plot on a date, derived from its dates (never stored).

    ``planned`` is every plot; ``acquired`` means ``acquired_on <= d``;
    ``leased`` means ``leased_on <= d`` and (``lease_ended_on`` is null or
    ``d < lease_ended_on``).
    """

    PLANNED = "planned"
    ACQUIRED = "acquired"
    LEASED = "leased"


PLOT_STATUS_LABELS: dict[PlotStatus, tuple[str, str]] = {
    PlotStatus.PLANNED: ("Quy hoạch", "Planned"),
    PlotStatus.ACQUIRED: ("Đã thu hồi", "Acquired"),
    PlotStatus.LEASED: ("Đã cho thuê", "Leased"),
}


class HolderType(enum.StrEnum):
    """Who holds the land-use right of a cadastral parcel (``parcels.holder_type``)."""

    HOUSEHOLD = "household"
    ORGANIZATION = "organization"
    STATE = "state"


HOLDER_TYPE_LABELS: dict[HolderType, tuple[str, str]] = {
    HolderType.HOUSEHOLD: ("Hộ gia đình, cá nhân", "Household"),
    HolderType.ORGANIZATION: ("Tổ chức", "Organization"),
    HolderType.STATE: ("Nhà nước quản lý", "State"),
}


class Event(enum.StrEnum):
    """Land-clearance event vocabulary (``clearance_events.event``).

    The first five are the ordered stages; the rest are side events.
    """

    NOTIFIED = "notified"
    INVENTORIED = "inventoried"
    PLAN_APPROVED = "plan_approved"
    COMPENSATED = "compensated"
    HANDED_OVER = "handed_over"
    COMPLAINT = "complaint"
    COMPLAINT_RESOLVED = "complaint_resolved"
    ENFORCEMENT = "enforcement"
    CORRECTION = "correction"


#: The ordered clearance stages, first to last.
STAGES: tuple[Event, ...] = (
    Event.NOTIFIED,
    Event.INVENTORIED,
    Event.PLAN_APPROVED,
    Event.COMPENSATED,
    Event.HANDED_OVER,
)

#: Events that do not move a parcel along the stages.
SIDE_EVENTS: tuple[Event, ...] = (
    Event.COMPLAINT,
    Event.COMPLAINT_RESOLVED,
    Event.ENFORCEMENT,
    Event.CORRECTION,
)

EVENT_LABELS: dict[Event, tuple[str, str]] = {
    Event.NOTIFIED: ("Thông báo thu hồi đất", "Notified"),
    Event.INVENTORIED: ("Kiểm đếm", "Inventoried"),
    Event.PLAN_APPROVED: ("Phê duyệt phương án bồi thường, hỗ trợ, tái định cư", "Compensation plan approved"),
    Event.COMPENSATED: ("Chi trả bồi thường", "Compensated"),
    Event.HANDED_OVER: ("Bàn giao mặt bằng", "Handed over"),
    Event.COMPLAINT: ("Khiếu nại", "Complaint"),
    Event.COMPLAINT_RESOLVED: ("Giải quyết khiếu nại", "Complaint resolved"),
    Event.ENFORCEMENT: ("Cưỡng chế", "Enforcement"),
    Event.CORRECTION: ("Đính chính", "Correction"),
}


class Bank(enum.StrEnum):
    """Bank of the Đuống river."""

    NORTH = "north"
    SOUTH = "south"


BANK_LABELS: dict[Bank, tuple[str, str]] = {
    Bank.NORTH: ("Bờ Bắc sông Đuống", "North bank"),
    Bank.SOUTH: ("Bờ Nam sông Đuống", "South bank"),
}

#: The river that splits Bắc Ninh into the north and south banks (its ``name`` in the ``rivers`` layer, NFC).
DUONG = "Sông Đuống"


class FacilityKind(enum.StrEnum):
    """Kind of a facility around the parks (``facilities.kind``)."""

    WORKER_HOUSING = "worker_housing"
    SCHOOL = "school"
    KINDERGARTEN = "kindergarten"
    CLINIC = "clinic"
    MARKET = "market"
    CULTURE_SPORT = "culture_sport"
    WASTEWATER_PLANT = "wastewater_plant"
    WASTE_STORAGE = "waste_storage"


FACILITY_KIND_LABELS: dict[FacilityKind, tuple[str, str]] = {
    FacilityKind.WORKER_HOUSING: ("Nhà ở cho người lao động", "Worker housing"),
    FacilityKind.SCHOOL: ("Trường học", "School"),
    FacilityKind.KINDERGARTEN: ("Nhà trẻ, trường mầm non", "Kindergarten"),
    FacilityKind.CLINIC: ("Cơ sở chăm sóc sức khỏe", "Clinic"),
    FacilityKind.MARKET: ("Chợ", "Market"),
    FacilityKind.CULTURE_SPORT: ("Trung tâm văn hóa thể thao", "Culture and sport centre"),
    FacilityKind.WASTEWATER_PLANT: ("Nhà máy xử lý nước thải tập trung", "Central wastewater plant"),
    FacilityKind.WASTE_STORAGE: ("Khu lưu giữ chất thải tạm thời", "Temporary waste storage"),
}

#: Facility kinds whose nearest distance ``housing_coverage`` reports (the "services" of direction C.3).
SERVICE_KINDS: tuple[FacilityKind, ...] = (
    FacilityKind.SCHOOL,
    FacilityKind.KINDERGARTEN,
    FacilityKind.CLINIC,
    FacilityKind.MARKET,
)


class FacilityStatus(enum.StrEnum):
    """Stage of a facility (``facilities.status``), as last recorded; the dates say when each began."""

    PLANNED = "planned"
    BUILDING = "building"
    OPERATING = "operating"


FACILITY_STATUS_LABELS: dict[FacilityStatus, tuple[str, str]] = {
    FacilityStatus.PLANNED: ("Quy hoạch", "Planned"),
    FacilityStatus.BUILDING: ("Đang xây dựng", "Under construction"),
    FacilityStatus.OPERATING: ("Đang hoạt động", "Operating"),
}


class CapacityUnit(enum.StrEnum):
    """Unit of ``facilities.capacity``."""

    BEDS = "beds"
    PUPILS = "pupils"
    M3_DAY = "m3_day"
    TONNES = "tonnes"


CAPACITY_UNIT_LABELS: dict[CapacityUnit, tuple[str, str]] = {
    CapacityUnit.BEDS: ("Chỗ ở (người)", "Beds"),
    CapacityUnit.PUPILS: ("Học sinh", "Pupils"),
    CapacityUnit.M3_DAY: ("m³/ngày đêm", "m³ per day"),
    CapacityUnit.TONNES: ("Tấn", "Tonnes"),
}


@dataclass(frozen=True)
class Column:
    """One column of a layer.

    ``kind`` is one of ``text``, ``int``, ``float``, ``bool``, ``date``, ``datetime``.
    """

    name: str
    kind: str
    label_vi: str
    label_en: str
    required: bool = True
    nullable: bool = True
    unique: bool = False
    enum: type[enum.StrEnum] | None = None
    personal: bool = False
    unit: str | None = None


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the atlas: geometry type, key column and columns."""

    name: Layer
    geometry: str | None  # "polygon", "line", "point_or_polygon" or None (attribute table)
    label_vi: str
    label_en: str
    key: str | None
    columns: tuple[Column, ...] = field(default_factory=tuple)
    #: Optional layers may be absent from an atlas (older atlases): they read as empty.
    optional: bool = False

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _c(name: Col, kind: str, vi: str, en: str, **kw: object) -> Column:
    return Column(str(name), kind, vi, en, **kw)  # type: ignore[arg-type]


ATLAS_LAYERS: dict[Layer, LayerSpec] = {
    Layer.PROVINCE: LayerSpec(
        Layer.PROVINCE,
        "polygon",
        "Ranh giới tỉnh",
        "Province outline",
        None,
        (_c(Col.NAME, "text", "Tên", "Name", nullable=False),),
    ),
    Layer.RIVERS: LayerSpec(
        Layer.RIVERS,
        "line",
        "Sông",
        "Rivers",
        None,
        (_c(Col.NAME, "text", "Tên sông", "River name", nullable=False),),
    ),
    Layer.PARKS: LayerSpec(
        Layer.PARKS,
        "polygon",
        "Khu công nghiệp",
        "Industrial parks",
        str(Col.PARK_ID),
        (
            _c(Col.PARK_ID, "text", "Mã KCN", "Park id", nullable=False, unique=True),
            _c(Col.NAME, "text", "Tên KCN", "Name (Vietnamese)", nullable=False),
            _c(Col.NAME_EN, "text", "Tên tiếng Anh", "Name (English)"),
            _c(Col.DISTRICT, "text", "Huyện, thị xã, thành phố", "District", nullable=False),
            _c(Col.STATUS, "text", "Tình trạng", "Status", nullable=False, enum=ParkStatus),
            _c(Col.LISTED_AREA_HA, "float", "Diện tích theo danh mục của Thủ tướng", "Listed area", unit="ha"),
            _c(
                Col.DETAIL_PLAN_APPROVED,
                "bool",
                "Đã duyệt quy hoạch chi tiết 1/2000",
                "Detailed plan approved",
                nullable=False,
            ),
            _c(Col.DEVELOPER, "text", "Công ty đầu tư phát triển hạ tầng", "Infrastructure developer"),
        ),
    ),
    Layer.PLOTS: LayerSpec(
        Layer.PLOTS,
        "polygon",
        "Lô đất trong KCN",
        "Plots",
        str(Col.PLOT_ID),
        (
            _c(Col.PLOT_ID, "text", "Mã lô", "Plot id", nullable=False, unique=True),
            _c(Col.PARK_ID, "text", "Mã KCN", "Park id", nullable=False),
            _c(Col.LAND_USE, "text", "Mục đích sử dụng", "Land use", nullable=False, enum=LandUse),
            _c(Col.ACQUIRED_ON, "date", "Ngày thu hồi đất", "Acquired on"),
            _c(Col.LEASED_ON, "date", "Ngày cho thuê", "Leased on"),
            _c(Col.LEASE_ENDED_ON, "date", "Ngày chấm dứt thuê", "Lease ended on"),
            _c(Col.TENANT, "text", "Doanh nghiệp thuê đất", "Tenant"),
            _c(Col.PROJECT_ID, "text", "Mã dự án", "Project id"),
        ),
    ),
    Layer.PARCELS: LayerSpec(
        Layer.PARCELS,
        "polygon",
        "Thửa đất địa chính",
        "Cadastral parcels",
        str(Col.PARCEL_ID),
        (
            _c(Col.PARCEL_ID, "text", "Mã thửa", "Parcel id", nullable=False, unique=True),
            _c(Col.PARK_ID, "text", "Mã KCN", "Park id", nullable=False),
            _c(Col.COMMUNE, "text", "Xã", "Commune", nullable=False),
            _c(Col.MAP_SHEET, "text", "Tờ bản đồ số", "Map sheet", nullable=False),
            _c(Col.PARCEL_NO, "text", "Thửa đất số", "Parcel number", nullable=False),
            _c(Col.LAND_TYPE, "text", "Loại đất", "Land type (cadastral code)"),
            _c(Col.HOLDER_TYPE, "text", "Loại chủ sử dụng", "Holder type", enum=HolderType),
            _c(Col.HOLDER_NAME, "text", "Chủ sử dụng", "Holder name", personal=True),
            _c(Col.LEGAL_AREA_M2, "float", "Diện tích pháp lý", "Legal area", unit="m²"),
        ),
    ),
    Layer.CLEARANCE_EVENTS: LayerSpec(
        Layer.CLEARANCE_EVENTS,
        None,
        "Tiến độ bồi thường, giải phóng mặt bằng",
        "Clearance events",
        str(Col.EVENT_ID),
        (
            _c(Col.EVENT_ID, "text", "Mã sự kiện", "Event id", nullable=False, unique=True),
            _c(Col.PARCEL_ID, "text", "Mã thửa", "Parcel id", nullable=False),
            _c(Col.EVENT, "text", "Giai đoạn, sự kiện", "Stage or event", nullable=False, enum=Event),
            _c(Col.EVENT_DATE, "date", "Ngày", "Event date", nullable=False),
            _c(Col.REFERENCE, "text", "Số quyết định", "Decision or document number"),
            _c(Col.NOTE, "text", "Ghi chú", "Note"),
            _c(Col.RECORDED_AT, "datetime", "Thời điểm ghi nhận", "Recorded at", nullable=False),
            _c(Col.RECORDED_BY, "text", "Người ghi nhận", "Recorded by", nullable=False),
            _c(Col.CORRECTS_EVENT_ID, "text", "Đính chính sự kiện", "Corrects event", required=False),
        ),
    ),
    Layer.PROJECTS: LayerSpec(
        Layer.PROJECTS,
        None,
        "Dự án đầu tư",
        "Investment projects",
        str(Col.PROJECT_ID),
        (
            _c(Col.PROJECT_ID, "text", "Mã dự án", "Project id", nullable=False, unique=True),
            _c(Col.INVESTOR, "text", "Nhà đầu tư", "Investor"),
            _c(Col.COUNTRY, "text", "Quốc gia", "Country"),
            _c(Col.REGISTERED_CAPITAL_USD, "float", "Vốn đăng ký", "Registered capital", unit="USD"),
            _c(Col.LICENSED_ON, "date", "Ngày cấp giấy chứng nhận đầu tư", "Licensed on"),
            _c(Col.OPERATING_SINCE, "date", "Ngày đi vào hoạt động", "Operating since"),
            _c(Col.REVOKED_ON, "date", "Ngày thu hồi giấy chứng nhận", "Revoked on"),
            _c(Col.WORKERS, "int", "Số lao động", "Workers"),
            _c(Col.LOCAL_WORKERS, "int", "Lao động địa phương", "Local workers"),
            _c(Col.FEMALE_WORKERS, "int", "Lao động nữ", "Female workers"),
        ),
    ),
    Layer.FACILITIES: LayerSpec(
        Layer.FACILITIES,
        "point_or_polygon",
        "Công trình hạ tầng xã hội và môi trường",
        "Facilities around the parks",
        str(Col.FACILITY_ID),
        (
            _c(Col.FACILITY_ID, "text", "Mã công trình", "Facility id", nullable=False, unique=True),
            _c(Col.KIND, "text", "Loại công trình", "Kind", nullable=False, enum=FacilityKind),
            _c(Col.NAME, "text", "Tên công trình", "Name (Vietnamese)", nullable=False),
            _c(Col.NAME_EN, "text", "Tên tiếng Anh", "Name (English)"),
            _c(Col.PARK_ID, "text", "KCN được phục vụ", "Park served (if one)"),
            _c(Col.CAPACITY, "float", "Công suất, quy mô", "Capacity"),
            _c(Col.CAPACITY_UNIT, "text", "Đơn vị công suất", "Capacity unit", enum=CapacityUnit),
            _c(Col.FLOOR_AREA_M2, "float", "Diện tích sàn", "Floor area", unit="m²"),
            _c(Col.STATUS, "text", "Tình trạng công trình", "Status", nullable=False, enum=FacilityStatus),
            _c(Col.PLANNED_ON, "date", "Ngày phê duyệt quy hoạch, chủ trương", "Planned on"),
            _c(Col.CONSTRUCTION_ON, "date", "Ngày khởi công", "Construction started on"),
            _c(Col.COMMISSIONED_ON, "date", "Ngày đưa vào sử dụng", "Commissioned on"),
        ),
        optional=True,
    ),
    Layer.ENTERPRISE_REPORTS: LayerSpec(
        Layer.ENTERPRISE_REPORTS,
        None,
        "Báo cáo thống kê định kỳ của doanh nghiệp",
        "Enterprises' periodic statistical reports",
        str(Col.REPORT_ID),
        (
            _c(Col.REPORT_ID, "text", "Mã báo cáo", "Report id", nullable=False, unique=True),
            _c(Col.PROJECT_ID, "text", "Mã dự án", "Project id", nullable=False),
            _c(Col.PERIOD, "text", "Kỳ báo cáo", "Period (YYYY, YYYY-Qn or YYYY-MM)", nullable=False),
            _c(Col.REVISION, "int", "Lần báo cáo (1 = lần đầu)", "Revision (1 = first filing)", nullable=False),
            _c(Col.FILED_ON, "date", "Ngày nộp báo cáo", "Filed on", nullable=False),
            _c(Col.WORKERS, "int", "Số lao động", "Workers"),
            _c(Col.LOCAL_WORKERS, "int", "Lao động địa phương", "Local workers"),
            _c(Col.FEMALE_WORKERS, "int", "Lao động nữ", "Female workers"),
            _c(Col.OUTPUT_BN_VND, "float", "Giá trị sản xuất công nghiệp", "Industrial output", unit="bn VND"),
            _c(Col.EXPORTS_MUSD, "float", "Giá trị xuất khẩu", "Exports", unit="M USD"),
            _c(Col.BUDGET_BN_VND, "float", "Nộp ngân sách", "Paid to the provincial budget", unit="bn VND"),
            _c(
                Col.AVG_INCOME_M_VND,
                "float",
                "Thu nhập bình quân",
                "Average income per worker and month",
                unit="M VND/month",
            ),
            _c(Col.RECORDED_AT, "datetime", "Thời điểm ghi nhận", "Recorded at", nullable=False),
            _c(Col.RECORDED_BY, "text", "Người ghi nhận", "Recorded by", nullable=False),
        ),
        optional=True,
    ),
}

#: Layers an atlas may lack (atlases written before schema version 2): they read as empty frames
#: with the model's columns, and ``validate`` reports a warning, never an error.
OPTIONAL_LAYERS: tuple[Layer, ...] = tuple(name for name, s in ATLAS_LAYERS.items() if s.optional)

#: Columns that hold personal data and must never leave through investor outputs.
PERSONAL_FIELDS: frozenset[str] = frozenset(c.name for s in ATLAS_LAYERS.values() for c in s.columns if c.personal)

#: The allow-list of fields investor-facing outputs (maps, exports) may show, per layer.
#: Parcels and clearance events are internal and have no investor fields at all.
INVESTOR_FIELDS: dict[Layer, tuple[str, ...]] = {
    Layer.PROVINCE: (Col.NAME,),
    Layer.RIVERS: (Col.NAME,),
    Layer.PARKS: (Col.PARK_ID, Col.NAME, Col.NAME_EN, Col.DISTRICT, Col.STATUS, Col.LISTED_AREA_HA, Col.DEVELOPER),
    Layer.PLOTS: (
        Col.PLOT_ID,
        Col.PARK_ID,
        Col.LAND_USE,
        Col.ACQUIRED_ON,
        Col.LEASED_ON,
        Col.LEASE_ENDED_ON,
        Col.TENANT,
    ),
    Layer.PARCELS: (),
    Layer.CLEARANCE_EVENTS: (),
    Layer.PROJECTS: (Col.PROJECT_ID, Col.INVESTOR, Col.COUNTRY),
    # Facilities are public works; investors ask for them. No personal column exists, and none may be added here.
    Layer.FACILITIES: (
        Col.FACILITY_ID,
        Col.KIND,
        Col.NAME,
        Col.NAME_EN,
        Col.PARK_ID,
        Col.CAPACITY,
        Col.CAPACITY_UNIT,
        Col.FLOOR_AREA_M2,
        Col.STATUS,
        Col.COMMISSIONED_ON,
    ),
    # An enterprise's statistical report is confidential to the Board: no investor fields.
    Layer.ENTERPRISE_REPORTS: (),
}


def spec(layer: str | Layer) -> LayerSpec:
    """Return the :class:`LayerSpec` of ``layer``.

    Raises
    ------
    SchemaError
        If ``layer`` is not an atlas layer; the message lists the valid names.
    """
    from kcn_gis.errors import SchemaError

    try:
        return ATLAS_LAYERS[Layer(layer)]
    except ValueError:
        valid = ", ".join(str(x) for x in Layer)
        raise SchemaError(f"'{layer}' is not an atlas layer; use one of: {valid}") from None
