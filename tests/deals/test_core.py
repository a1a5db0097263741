"""Deal rules: one open deal per client and project, stands held and sold, sale and loss rules."""

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services
from erp_crm.deals.models import DealStageChange, LostReason, Stage
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from erp_crm.projects import stands as stand_ops
from erp_crm.projects.models import Stand, StandPrice
from tests.fixtures.deals import make_client, make_project


@pytest.fixture
def world(db_session, make_user):
    manager = make_user("sales_manager", username="deal_mgr")
    project = make_project(db_session)
    client = make_client(db_session, manager)
    deal = services.create_deal(
        db_session, services.DealData(client_id=client.id, project_id=project.id), actor=manager
    )
    stands = db_session.scalars(select(Stand).order_by(Stand.number)).all()
    return {
        "manager": manager,
        "project": project,
        "client": client,
        "deal": deal,
        "stands": stands,
    }


def stage(session, pipeline_code, percent):
    pipeline = services.pipeline_by_code(session, pipeline_code)
    return next(s for s in pipeline.stages if s.percent == percent)


def test_new_deal_starts_at_interest_and_makes_the_client_potential(world, db_session):
    deal = world["deal"]
    assert deal.stage.percent == 0 and deal.outcome == "open"
    assert world["client"].relationship_type == "potential"
    assert db_session.scalar(select(DealStageChange.to_stage_id)) == deal.stage_id


def test_second_open_deal_of_the_client_in_the_project_is_refused(world, db_session):
    with pytest.raises(Conflict, match="уже есть сделка"):
        services.create_deal(
            db_session,
            services.DealData(client_id=world["client"].id, project_id=world["project"].id),
            actor=world["manager"],
        )


def test_stand_line_prices_and_holds_the_stand(world, db_session):
    deal, corner = world["deal"], world["stands"][0]
    deal_lines.add_stand_line(db_session, deal, corner, actor=world["manager"])
    deal_lines.add_registration_line(db_session, deal, actor=world["manager"])
    assert (deal.amount, deal.area_m2) == (D("140400.00"), D("12"))
    db_session.refresh(corner)
    assert (corner.status, corner.deal_id) == ("reserved", deal.id)


def test_a_changed_price_list_does_not_change_a_priced_deal(world, db_session):
    deal = world["deal"]
    deal_lines.add_stand_line(db_session, deal, world["stands"][1], actor=world["manager"])
    price = db_session.scalar(select(StandPrice).where(StandPrice.stand_type == "raw"))
    price.price_per_m2 = D("20000.00")
    db_session.flush()
    deal_lines.set_discount(
        db_session, deal, "percent", "10", "Постоянный участник", actor=world["manager"]
    )
    assert deal.lines[0].unit_price == D("9500.00")
    assert deal.amount == D("102600.00")


def test_sale_stage_needs_a_stand_or_m2_and_sells_the_stands(world, db_session):
    deal, manager = world["deal"], world["manager"]
    signed = stage(db_session, "sales", 70)
    deal_lines.add_registration_line(db_session, deal, actor=manager)
    with pytest.raises(ValidationError) as err:
        services.move_to_stage(db_session, deal, signed, actor=manager)
    assert "стенда или площади" in err.value.fields["stage_id"]
    deal_lines.add_stand_line(db_session, deal, world["stands"][1], actor=manager)
    services.move_to_stage(db_session, deal, signed, actor=manager)
    db_session.refresh(world["stands"][1])
    assert deal.outcome == "won" and world["stands"][1].status == "sold"
    assert world["client"].relationship_type == "current"
    services.move_to_stage(db_session, deal, stage(db_session, "sales", 60), actor=manager)
    db_session.refresh(world["stands"][1])
    assert deal.outcome == "open" and world["stands"][1].status == "reserved"


def test_losing_needs_a_reason_and_frees_the_stands(world, db_session):
    deal, manager, stand = world["deal"], world["manager"], world["stands"][2]
    deal_lines.add_stand_line(db_session, deal, stand, actor=manager)
    with pytest.raises(ValidationError) as err:
        services.mark_lost(db_session, deal, None, "передумали", actor=manager)
    assert "причину" in err.value.fields["lost_reason_id"]
    reason = db_session.scalar(select(LostReason).where(LostReason.name == "Нет бюджета"))
    services.mark_lost(db_session, deal, reason.id, "бюджет урезали", actor=manager)
    db_session.refresh(stand)
    assert deal.outcome == "lost" and stand.status == "free" and stand.deal_id is None
    with pytest.raises(Conflict):
        deal_lines.add_registration_line(db_session, deal, actor=manager)


def test_another_deal_cannot_take_a_held_stand_until_the_hold_expires(world, db_session, make_user):
    manager, stand = world["manager"], world["stands"][3]
    deal_lines.add_stand_line(db_session, world["deal"], stand, actor=manager)
    rival_client = make_client(db_session, manager, name="АО «Вектор»", inn="7736207543")
    rival = services.create_deal(
        db_session,
        services.DealData(client_id=rival_client.id, project_id=world["project"].id),
        actor=manager,
    )
    with pytest.raises(Conflict, match="уже забронирован"):
        deal_lines.add_stand_line(db_session, rival, stand, actor=manager)
    stand.reserved_until = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db_session.flush()
    assert stand_ops.effective_status(stand) == "free"
    deal_lines.add_stand_line(db_session, rival, stand, actor=manager)
    db_session.refresh(stand)
    assert stand.deal_id == rival.id


def test_deferred_demand_needs_a_next_contact_date(world, db_session):
    deferred = stage(db_session, "deferred", 0)
    with pytest.raises(ValidationError):
        services.move_to_stage(db_session, world["deal"], deferred, actor=world["manager"])
    services.move_to_stage(
        db_session,
        world["deal"],
        deferred,
        actor=world["manager"],
        next_contact_date=dt.date(2027, 1, 15),
    )
    assert world["deal"].pipeline.code == "deferred"
    back = services.first_stage(services.pipeline_by_code(db_session, "sales"))
    services.move_to_stage(db_session, world["deal"], back, actor=world["manager"])
    assert world["deal"].pipeline.code == "sales"


def test_only_the_deals_manager_or_head_works_it(world, db_session, make_user):
    other = make_user("sales_manager", username="deal_other")
    head = make_user("head_of_sales", username="deal_head")
    with pytest.raises(PermissionDenied):
        deal_lines.add_registration_line(db_session, world["deal"], actor=other)
    deal_lines.add_registration_line(db_session, world["deal"], actor=head)


def test_a_signed_contract_moves_the_deal_forward_only(world, db_session):
    deal, manager = world["deal"], world["manager"]
    deal_lines.add_stand_line(db_session, deal, world["stands"][1], actor=manager)
    # the seeded sale stage follows the signing; issuing alone binds no stage of the pipeline
    assert not services.fire_trigger(db_session, deal, "contract_issued", actor=manager)
    assert services.fire_trigger(db_session, deal, "contract_signed", actor=manager)
    assert deal.stage.percent == 70
    services.move_to_stage(db_session, deal, stage(db_session, "sales", 90), actor=manager)
    assert not services.fire_trigger(db_session, deal, "contract_signed", actor=manager)
    assert db_session.scalar(select(Stage.percent).where(Stage.id == deal.stage_id)) == 90


def test_reassigning_a_leavers_clients_moves_their_open_deals_too(world, db_session, make_user):
    from erp_crm.clients import services as client_services

    head = make_user("head_of_sales", username="deal_head")
    heir = make_user("sales_manager", username="deal_heir")
    lost_client = make_client(db_session, world["manager"], name="ООО «Бывший»", inn="7736207543")
    closed = services.create_deal(
        db_session,
        services.DealData(client_id=lost_client.id, project_id=world["project"].id),
        actor=world["manager"],
    )
    closed.outcome = "won"  # a finished deal stays with the manager who closed it
    db_session.flush()

    result = client_services.reassign_clients(db_session, world["manager"], [heir], actor=head)
    db_session.flush()
    assert result.clients == 2
    assert result.moved_along == {"открытых сделок": 1}
    assert world["deal"].manager_id == heir.id
    assert closed.manager_id == world["manager"].id
