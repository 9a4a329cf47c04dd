"""Arabic articles written for the project's demo (not taken from any publisher).

Two outlets: "al-wasat" publishes four stories; "al-khabar" reprints the Iran–Russia story with a
different dateline, so the demo shows one alert per story, not per copy. The Belarus and sports
stories are traps a substring matcher falls into (بيلاروسيا contains روسيا, الرياضة contains الرياض)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoArticle:
    outlet: str
    slug: str
    title: str
    author: str
    published: str  # ISO 8601
    paragraphs: tuple[str, ...]


_TALKS = (
    "أجرى وزير الخارجية الإيراني محادثات مطولة في موسكو مع نظيره الروسي تناولت التعاون في مجال الطاقة "
    "وتطورات الملف النووي، وفق ما أفاد به بيان صادر عن الخارجية الروسية.",
    "وقال الوزير في مؤتمر صحفي مشترك إن العلاقات بين طهران وموسكو تشهد مرحلة غير مسبوقة من التنسيق، "
    "مشيراً إلى أن البلدين اتفقا على تسريع العمل في مشروع ممر النقل بين الشمال والجنوب.",
    "من جهته، أكد الجانب الروسي أن الكرملين يدعم العودة إلى الاتفاق النووي بشروط تضمن مصالح جميع الأطراف، "
    "وأن التبادل التجاري بين البلدين ارتفع خلال العام الجاري.",
    "وتأتي الزيارة في ظل توتر إقليمي متصاعد، ويرى مراقبون أن التقارب بين إيران وروسيا يعكس رغبة مشتركة "
    "في مواجهة العقوبات الغربية.",
)

ARTICLES: tuple[DemoArticle, ...] = (
    DemoArticle(
        outlet="al-wasat", slug="iran-russia-talks",
        title="وزير الخارجية الإيراني يبحث في موسكو التعاون في مجال الطاقة",
        author="سلمى الحداد", published="2026-11-28T09:30:00+03:00",
        paragraphs=("موسكو - الوسط:", *_TALKS),
    ),
    DemoArticle(
        outlet="al-wasat", slug="egypt-budget",
        title="الحكومة المصرية تعلن خطة لخفض عجز الموازنة",
        author="أحمد عبد الرحمن", published="2026-11-28T11:00:00+02:00",
        paragraphs=(
            "أعلنت الحكومة المصرية خطة جديدة لخفض عجز الموازنة العامة خلال السنوات الثلاث المقبلة، "
            "تعتمد على زيادة الإيرادات الضريبية وترشيد الإنفاق.",
            "وقال وزير المالية إن الخطة تستهدف تحقيق فائض أولي، مع الحفاظ على برامج الحماية الاجتماعية "
            "للفئات الأكثر احتياجاً.",
            "ورحب عدد من الاقتصاديين بالخطة، لكنهم حذروا من أثر رفع الأسعار على القدرة الشرائية للمواطنين.",
        ),
    ),
    DemoArticle(
        outlet="al-wasat", slug="belarus-trade",
        title="بيلاروسيا وأرمينيا توقعان اتفاقية للتبادل التجاري",
        author="نادر يوسف", published="2026-11-28T12:15:00+03:00",
        paragraphs=(
            "وقعت بيلاروسيا وأرمينيا اتفاقية لتعزيز التبادل التجاري في مجالي الزراعة والصناعات الغذائية.",
            "وأوضح بيان مشترك أن البلدين يسعيان إلى مضاعفة حجم التجارة بينهما خلال خمس سنوات، "
            "وإلى تسهيل إجراءات النقل البري.",
        ),
    ),
    DemoArticle(
        outlet="al-wasat", slug="riyadh-sports",
        title="انطلاق بطولة الرياضة المدرسية بمشاركة واسعة",
        author="ريم العتيبي", published="2026-11-28T15:40:00+03:00",
        paragraphs=(
            "انطلقت اليوم منافسات بطولة الرياضة المدرسية بمشاركة أكثر من ثلاثمئة فريق من مختلف المناطق.",
            "وتشمل البطولة ألعاب القوى وكرة القدم والسباحة، وتستمر أسبوعين.",
        ),
    ),
    DemoArticle(
        outlet="al-khabar", slug="tehran-moscow-energy",
        title="طهران وموسكو تتفقان على تسريع مشروع ممر النقل",
        author="وكالات", published="2026-11-28T10:05:00+03:00",
        paragraphs=("موسكو (وكالات) -", *_TALKS),
    ),
)
