"""Vocabularies for the synthetic data: names, places, products, texts.

Plain tuples, so codes in the arrays index them directly. Weights are rough
shares, not statistics; they only make the data look plausible.
"""

from __future__ import annotations

__all__ = [
    "ACQUISITION_CHANNELS",
    "ACQUISITION_WEIGHTS",
    "BUSINESS_SITUATIONS",
    "BUSINESS_SUFFIXES",
    "BUSINESS_WORDS",
    "CATEGORIES",
    "CATEGORY_MEDIAN_PRICE",
    "CATEGORY_POPULARITY",
    "CATEGORY_PRODUCTS",
    "CITIES",
    "CN_FAMILY",
    "CN_GIVEN_FEMALE",
    "CN_GIVEN_MALE",
    "COMPLAINT_TEXTS",
    "EN_FAMILY",
    "EN_GIVEN_FEMALE",
    "EN_GIVEN_MALE",
    "INDUSTRIES",
    "INTERACTION_CHANNELS",
    "OCCUPATIONS_CN",
    "OCCUPATIONS_EN",
    "ORDER_CHANNELS",
    "ORDER_CHANNEL_WEIGHTS",
    "QUERIES",
    "REGIONS",
    "REVIEW_TEXTS",
    "ROADS",
    "SKU_PREFIX",
]

# (surname, pinyin), roughly by frequency.
CN_FAMILY: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("林", "lin"), ("高", "gao"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("许", "xu"),
    ("欧阳", "ouyang"), ("司马", "sima"),
)
CN_GIVEN_FEMALE: tuple[tuple[str, str], ...] = (
    ("娜", "na"), ("芳", "fang"), ("秀英", "xiuying"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("艳", "yan"), ("娟", "juan"), ("霞", "xia"), ("秀兰", "xiulan"),
    ("桂英", "guiying"), ("婷", "ting"), ("雪", "xue"), ("慧", "hui"), ("玲", "ling"),
    ("晓燕", "xiaoyan"), ("欣怡", "xinyi"), ("梓涵", "zihan"), ("雨萱", "yuxuan"), ("佳", "jia"),
)
CN_GIVEN_MALE: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
    ("刚", "gang"), ("平", "ping"), ("辉", "hui"), ("鹏", "peng"), ("浩然", "haoran"),
    ("子轩", "zixuan"), ("建国", "jianguo"), ("志强", "zhiqiang"), ("宇航", "yuhang"),
    ("斌", "bin"),
)
EN_GIVEN_FEMALE: tuple[str, ...] = (
    "Emma", "Olivia", "Sophia", "Mia", "Charlotte", "Amelia", "Grace", "Chloe", "Lucy", "Anna",
)
EN_GIVEN_MALE: tuple[str, ...] = (
    "James", "Oliver", "Liam", "Noah", "William", "Lucas", "Henry", "Jack", "Daniel", "David",
)
EN_FAMILY: tuple[str, ...] = (
    "Smith", "Johnson", "Brown", "Williams", "Jones", "Miller", "Davis", "Wilson", "Taylor",
    "Anderson", "Thomas", "Moore", "Martin", "Clark", "Walker",
)

REGIONS: tuple[str, ...] = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")

# (city, province, region index, weight, postal prefix, districts)
CITIES: tuple[tuple[str, str, int, float, str, tuple[str, ...]], ...] = (
    ("上海市", "上海市", 0, 9.0, "200", ("浦东新区", "徐汇区", "静安区", "闵行区", "杨浦区")),
    ("杭州市", "浙江省", 0, 5.0, "310", ("西湖区", "滨江区", "上城区", "余杭区")),
    ("南京市", "江苏省", 0, 4.0, "210", ("鼓楼区", "玄武区", "建邺区", "江宁区")),
    ("苏州市", "江苏省", 0, 4.0, "215", ("姑苏区", "工业园区", "吴中区")),
    ("宁波市", "浙江省", 0, 2.5, "315", ("海曙区", "鄞州区", "江北区")),
    ("北京市", "北京市", 1, 8.5, "100", ("海淀区", "朝阳区", "东城区", "西城区", "丰台区")),
    ("天津市", "天津市", 1, 3.5, "300", ("和平区", "南开区", "河西区")),
    ("石家庄市", "河北省", 1, 2.0, "050", ("长安区", "桥西区", "裕华区")),
    ("广州市", "广东省", 2, 7.0, "510", ("天河区", "越秀区", "海珠区", "白云区")),
    ("深圳市", "广东省", 2, 7.5, "518", ("南山区", "福田区", "罗湖区", "宝安区", "龙岗区")),
    ("厦门市", "福建省", 2, 2.0, "361", ("思明区", "湖里区", "集美区")),
    ("福州市", "福建省", 2, 2.0, "350", ("鼓楼区", "台江区", "仓山区")),
    ("武汉市", "湖北省", 3, 4.5, "430", ("江汉区", "武昌区", "洪山区", "江岸区")),
    ("长沙市", "湖南省", 3, 3.0, "410", ("岳麓区", "天心区", "芙蓉区")),
    ("郑州市", "河南省", 3, 3.0, "450", ("金水区", "二七区", "中原区")),
    ("成都市", "四川省", 4, 6.0, "610", ("武侯区", "锦江区", "青羊区", "高新区")),
    ("重庆市", "重庆市", 4, 5.0, "400", ("渝中区", "江北区", "南岸区", "沙坪坝区")),
    ("昆明市", "云南省", 4, 2.0, "650", ("五华区", "盘龙区", "官渡区")),
    ("西安市", "陕西省", 5, 3.5, "710", ("雁塔区", "碑林区", "未央区")),
    ("兰州市", "甘肃省", 5, 1.0, "730", ("城关区", "七里河区")),
    ("沈阳市", "辽宁省", 6, 2.5, "110", ("和平区", "沈河区", "皇姑区")),
    ("大连市", "辽宁省", 6, 2.0, "116", ("中山区", "沙河口区", "甘井子区")),
    ("哈尔滨市", "黑龙江省", 6, 2.0, "150", ("南岗区", "道里区", "香坊区")),
)
ROADS: tuple[str, ...] = (
    "人民路", "中山路", "解放路", "建设路", "和平路", "长江路", "南京路", "科技路",
    "世纪大道", "文化路", "新华路", "学府路", "滨江路", "青年路", "东风路",
)

ACQUISITION_CHANNELS: tuple[str, ...] = (
    "search", "social", "referral", "app_store", "ads", "offline_store", "wechat", "livestream",
)
ACQUISITION_WEIGHTS: tuple[float, ...] = (0.22, 0.16, 0.12, 0.12, 0.12, 0.08, 0.12, 0.06)

ORDER_CHANNELS: tuple[str, ...] = ("app", "web", "小程序", "store")
ORDER_CHANNEL_WEIGHTS: tuple[float, ...] = (0.5, 0.2, 0.22, 0.08)
INTERACTION_CHANNELS: tuple[str, ...] = ("app", "web", "微信", "phone", "store")

OCCUPATIONS_CN: tuple[str, ...] = (
    "教师", "工程师", "医生", "护士", "学生", "销售", "设计师", "会计", "公务员", "程序员",
    "自由职业", "退休", "律师", "厨师", "司机", "个体经营", "研究员", "产品经理",
)
OCCUPATIONS_EN: tuple[str, ...] = (
    "teacher", "engineer", "consultant", "designer", "student", "manager", "researcher",
    "software developer", "accountant", "entrepreneur",
)

INDUSTRIES: tuple[str, ...] = (
    "零售", "餐饮", "制造业", "互联网", "教育培训", "医疗健康", "物流", "酒店", "贸易", "文化传媒",
)
BUSINESS_WORDS: tuple[str, ...] = (
    "华联", "鑫源", "恒通", "博达", "远航", "金桥", "德胜", "宏图", "嘉禾", "瑞丰", "天成", "万象",
)
BUSINESS_SUFFIXES: tuple[str, ...] = (
    "贸易有限公司", "科技有限公司", "餐饮管理有限公司", "商贸有限公司", "文化传播有限公司",
    "实业有限公司",
)
BUSINESS_SITUATIONS: tuple[str, ...] = (
    "业务稳定增长", "正在开设新门店", "年底集中采购", "现金流偏紧，付款周期较长",
    "新签约客户，试用阶段", "计划扩大采购规模", "Expanding to two new cities this year",
)

CATEGORIES: tuple[str, ...] = (
    "tea", "electronics", "apparel", "beauty", "groceries", "books", "home", "toys",
    "sports", "baby",
)
SKU_PREFIX: tuple[str, ...] = ("TEA", "ELE", "APP", "BEA", "GRO", "BOO", "HOM", "TOY", "SPO", "BAB")
CATEGORY_POPULARITY: tuple[float, ...] = (
    0.08, 0.14, 0.16, 0.12, 0.18, 0.07, 0.1, 0.05, 0.06, 0.04,
)
# Median order value in major units (yuan) for an average customer.
CATEGORY_MEDIAN_PRICE: tuple[float, ...] = (
    180.0, 900.0, 240.0, 200.0, 85.0, 60.0, 220.0, 130.0, 280.0, 160.0,
)
# Products per category (SKUs are CAT-00000 .. CAT-n-1, popularity Zipf-like).
CATEGORY_PRODUCTS: tuple[int, ...] = (400, 1500, 3000, 1200, 2500, 5000, 2000, 800, 900, 600)

# Search queries per category, Chinese and English.
QUERIES: tuple[tuple[str, ...], ...] = (
    ("西湖龙井", "普洱茶 饼", "铁观音 礼盒", "green tea", "白茶 2024", "oolong tea"),
    ("蓝牙耳机", "手机 256G", "充电宝 快充", "mechanical keyboard", "4K monitor", "笔记本电脑"),
    ("羽绒服 女", "运动鞋 男", "连衣裙", "cotton t-shirt", "牛仔裤 直筒", "winter jacket"),
    ("防晒霜", "面膜 补水", "口红 色号", "moisturizer", "精华液", "sunscreen spf50"),
    ("大米 5kg", "食用油", "坚果 礼包", "organic milk", "咖啡豆", "零食 大礼包"),
    ("三体", "Python 编程", "儿童绘本", "harry potter", "考研 英语", "history books"),
    ("四件套 纯棉", "收纳盒", "电饭煲", "air purifier", "扫地机器人", "保温杯"),
    ("乐高", "积木 儿童", "遥控车", "board games", "毛绒玩具", "拼图 1000片"),
    ("瑜伽垫", "跑步鞋", "哑铃", "tennis racket", "骑行 头盔", "camping tent"),
    ("纸尿裤", "婴儿 奶粉", "婴儿车", "baby wipes", "儿童 安全座椅", "奶瓶"),
)

# Review texts by rating 1..5 (index 0 is rating 1).
REVIEW_TEXTS: tuple[tuple[str, ...], ...] = (
    ("质量太差了，用了两天就坏了，非常失望。", "和描述完全不符，已申请退货。",
     "Terrible quality, broke after a week."),
    ("一般般，有点不值这个价。", "物流太慢，包装也破了。", "Not as described, disappointed."),
    ("还可以，中规中矩。", "东西不错，就是发货慢了点。", "It's okay for the price."),
    ("质量不错，物流很快，好评！", "挺满意的，会回购。", "Good product, fast delivery."),
    ("非常满意！质量超出预期，五星好评！", "第二次购买了，一如既往的好。",
     "Excellent, highly recommend!", "包装精美，送人很有面子。"),
)
# Complaint texts by ComplaintCategory order (product_quality, logistics, after_sales,
# price, service, other).
COMPLAINT_TEXTS: tuple[tuple[str, ...], ...] = (
    ("收到的商品有明显瑕疵，要求换货。", "The item arrived damaged."),
    ("快递超过一周还没到，物流信息不更新。", "Parcel delivered to the wrong address."),
    ("申请退款三天了还没有处理。", "售后客服一直不回复。"),
    ("刚买就降价了，要求补差价。", "Charged twice for the same order."),
    ("客服态度很差。", "The hotline kept me waiting for 40 minutes."),
    ("发票开错了，请重新开具。", "Please delete my old address."),
)
