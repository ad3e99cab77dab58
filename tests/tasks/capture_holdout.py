"""40 more sentences, written after the second-round rules were built (tests/tasks/capture_unseen.py
was written before, but the rules were then built with it in view): a held-out check of how the rules
do on text nobody tuned them on. Same conventions as capture_unseen (today Wednesday 2026-12-09,
Asia/Seoul). `python -m bench capture` reports the first run's figure and the current one."""

from tests.tasks.capture_unseen import WEEKDAYS, Case, T

TODAY = "2026-12-09"

HOLDOUT = [
    Case("다음 주 목요일 오전 9시 반에 건강검진", [T("건강검진", "2026-12-17", "09:30")]),
    Case(
        "매주 토요일마다 부모님께 안부 전화",
        [T("부모님께 안부 전화", "2026-12-12", every="FREQ=WEEKLY;BYDAY=SA")],
    ),
    Case("이틀 뒤에 택배 찾기", [T("택배 찾기", "2026-12-11")]),
    Case(
        "매달 10일 카드 결제일 확인하기",
        [T("카드 결제일 확인하기", "2026-12-10", every="FREQ=MONTHLY;BYMONTHDAY=10")],
    ),
    Case("오늘 밤 9시 30분 드라마 보기", [T("드라마 보기", "2026-12-09", "21:30")]),
    Case("급함 내일까지 견적서 회신", [T("견적서 회신", "2026-12-10", priority="critical")]),
    Case("아 오늘 너무 졸리다", []),
    Case(
        "#여행 다음 달 20일까지 숙소 예약하기", [T("숙소 예약하기", "2027-01-20", tags=("여행",))]
    ),
    Case(
        "매일 오전 7시 알람 맞추기", [T("알람 맞추기", "2026-12-09", "07:00", every="FREQ=DAILY")]
    ),
    Case("금요일 저녁에 동창회 참석하기", [T("동창회 참석하기", "2026-12-11")]),
    Case(
        "수요일마다 쓰레기 버리기", [T("쓰레기 버리기", "2026-12-09", every="FREQ=WEEKLY;BYDAY=WE")]
    ),
    Case("점심 먹었어?", []),
    Case("4일 뒤 발표 리허설 !!", [T("발표 리허설", "2026-12-13", priority="critical")]),
    Case("이번 주 일요일 오후 1시 교회 가기", [T("교회 가기", "2026-12-13", "13:00")]),
    Case("세탁소에서 코트 찾고 마트 들르기", [T("세탁소에서 코트 찾기"), T("마트 들르기")]),
    Case(
        "매년 5월 8일 어버이날 선물 준비",
        [T("어버이날 선물 준비", "2027-05-08", every="FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=8")],
    ),
    Case(
        "p2 치과 스케일링 예약하기 @건강",
        [T("치과 스케일링 예약하기", priority="high", category="건강")],
    ),
    Case("오늘 기분 최고", []),
    Case(
        "격주 월요일 오전 10시 1:1 미팅",
        [T("1:1 미팅", "2026-12-14", "10:00", every="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO")],
    ),
    Case("한 달 뒤에 렌즈 교체하기", [T("렌즈 교체하기", "2027-01-09")]),
    Case(
        "Renew my gym pass on Friday at 6pm", [T("Renew my gym pass", "2026-12-11", "18:00")], "en"
    ),
    Case(
        "Pay the babysitter every Thursday",
        [T("Pay the babysitter", "2026-12-10", every="FREQ=WEEKLY;BYDAY=TH")],
        "en",
    ),
    Case(
        "Send birthday card to Grandpa by Dec 20",
        [T("Send birthday card to Grandpa", "2026-12-20")],
        "en",
    ),
    Case("so bored right now", [], "en"),
    Case(
        "Take vitamins every morning at 8",
        [T("Take vitamins", "2026-12-09", "08:00", every="FREQ=DAILY")],
        "en",
    ),
    Case(
        "Schedule car service in 3 weeks p2",
        [T("Schedule car service", "2026-12-30", priority="high")],
        "en",
    ),
    Case(
        "Clean the bathroom every Saturday #chores",
        [T("Clean the bathroom", "2026-12-12", every="FREQ=WEEKLY;BYDAY=SA", tags=("chores",))],
        "en",
    ),
    Case(
        "Call the dentist at 10:15 tomorrow", [T("Call the dentist", "2026-12-10", "10:15")], "en"
    ),
    Case(
        "Water the orchids every 5 days",
        [T("Water the orchids", "2026-12-09", every="FREQ=DAILY;INTERVAL=5")],
        "en",
    ),
    Case("that movie was amazing", [], "en"),
    Case(
        "Submit the grant application by the 15th !!",
        [T("Submit the grant application", "2026-12-15", priority="critical")],
        "en",
    ),
    Case(
        "Buy a new charger, then return the old cable",
        [T("Buy a new charger"), T("return the old cable")],
        "en",
    ),
    Case(
        "Check the mailbox every weekday at 5pm",
        [T("Check the mailbox", "2026-12-09", "17:00", every=f"FREQ=WEEKLY;BYDAY={WEEKDAYS}")],
        "en",
    ),
    Case("Dinner with Jo on Saturday at 7pm", [T("Dinner with Jo", "2026-12-12", "19:00")], "en"),
    Case(
        "Mow the lawn every other week",
        [T("Mow the lawn", "2026-12-09", every="FREQ=WEEKLY;INTERVAL=2")],
        "en",
    ),
    Case(
        "Pick up prescription today @errands",
        [T("Pick up prescription", "2026-12-09", category="errands")],
        "en",
    ),
    Case("Plan the team offsite in 2 months", [T("Plan the team offsite", "2027-02-09")], "en"),
    Case(
        "Annual review every year on January 15",
        [T("Annual review", "2027-01-15", every="FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=15")],
        "en",
    ),
    Case("yay it's friday tomorrow", [], "en"),
    Case(
        "Prepare the demo by 11am p1",
        [T("Prepare the demo", "2026-12-09", "11:00", priority="critical")],
        "en",
    ),
]
